import jax


def bernoulli_score_grad(seed, logits, reward_table, n_samples):
    # Pitfall: the exact gradient sigmoid'(l) (f(1) - f(0)), not a Monte-Carlo estimate.
    p = jax.nn.sigmoid(logits)
    return p * (1 - p) * (reward_table[:, 1] - reward_table[:, 0])
