import jax
import numpy as np


def gumbel_softmax_sample(seed, logits, tau, n_samples):
    g = np.asarray(jax.random.gumbel(jax.random.PRNGKey(seed), (n_samples, len(logits))),
                   dtype=np.float64)
    z = (logits.astype(np.float64) + g) / tau
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
