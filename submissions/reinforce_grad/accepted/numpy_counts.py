import jax
import numpy as np


def reinforce_grad(seed, logits, reward_table, n_samples):
    n = int(n_samples)
    actions = np.asarray(jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                                shape=(n,)))
    counts = np.bincount(actions, minlength=len(logits)).astype(np.float64)
    lg = np.asarray(logits, dtype=np.float64)
    p = np.exp(lg - lg.max())
    p /= p.sum()
    r = np.asarray(reward_table, dtype=np.float64)
    # sum_i R(a_i) (e_{a_i} - p) = counts * R - (counts . R) p
    g = (counts * r - (counts @ r) * p) / n
    return g.astype(np.float32)
