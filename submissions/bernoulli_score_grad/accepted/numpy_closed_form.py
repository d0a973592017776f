import jax
import numpy as np


def bernoulli_score_grad(seed, logits, reward_table, n_samples):
    p32 = jax.nn.sigmoid(logits)
    b = np.asarray(jax.random.bernoulli(jax.random.PRNGKey(int(seed)), p32,
                                        shape=(int(n_samples), len(logits))), dtype=np.float64)
    p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    table = reward_table.astype(np.float64)
    f = (b * table[:, 1] + (1 - b) * table[:, 0]).sum(axis=1)
    return (f @ (b - p) / len(f)).astype(np.float32)
