"""Reference: n categorical samples by the Gumbel-max trick, with the noise of the key given."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def gumbel_max_sample(key: jax.Array, logits: np.ndarray, n: int) -> jax.Array:
    logits = jnp.asarray(logits, dtype=jnp.float32)
    g = jax.random.gumbel(key, (n, logits.shape[0]))
    return jnp.argmax(logits + g, axis=-1).astype(jnp.int32)


def _probs(logits: np.ndarray) -> np.ndarray:
    lg = np.asarray(logits, dtype=np.float64)
    p = np.exp(lg - lg.max())
    return np.asarray(p / p.sum())


def expectation(logits: np.ndarray, n: int) -> np.ndarray:
    """Each action's mean index, sum_k k p_k; with K = 2 that is the frequency of action 1."""
    p = _probs(logits)
    return np.full(n, np.arange(p.size) @ p)


def variance(logits: np.ndarray, n: int) -> np.ndarray:
    """The exact variance of one action's index: sum_k k^2 p_k - (sum_k k p_k)^2."""
    p = _probs(logits)
    k = np.arange(p.size, dtype=np.float64)
    return np.full(n, k**2 @ p - (k @ p) ** 2)
