import jax


def reinforce(seed, logits, reward_table, n_samples):
    return logits
