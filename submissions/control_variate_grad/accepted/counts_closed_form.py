import jax
import numpy as np


def control_variate_grad(seed, logits, reward_table, n_samples):
    n = int(n_samples)
    actions = np.asarray(jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                                shape=(n,)))
    lg = np.asarray(logits, dtype=np.float64)
    p = np.exp(lg - lg.max())
    p /= p.sum()
    r = np.asarray(reward_table, dtype=np.float64)
    counts = np.bincount(actions, minlength=len(lg)).astype(np.float64)
    total = counts @ r
    out = np.empty_like(p)
    for j in range(len(p)):
        if 0 < counts[j] < n:
            # The fitted control variate leaves p_j (1 - p_j) (R_j - mean reward of the others).
            others = (total - counts[j] * r[j]) / (n - counts[j])
            out[j] = p[j] * (1 - p[j]) * (r[j] - others)
        else:  # Var(h_j) = 0: c_j = 0, plain REINFORCE's component
            out[j] = (counts[j] * r[j] - total * p[j]) / n
    return out.astype(np.float32)
