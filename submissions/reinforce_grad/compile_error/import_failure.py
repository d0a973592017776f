import torch_that_does_not_exist  # noqa: F401


def reinforce_grad(seed, logits, reward_table, n_samples):
    return logits
