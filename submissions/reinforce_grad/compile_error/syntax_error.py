import jax

def reinforce_grad(seed, logits, reward_table, n_samples)
    return logits
