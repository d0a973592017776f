def reinforce_grad(seed, logits, reward_table, n_samples):
    table = {}
    return table[int(seed)]
