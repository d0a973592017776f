"""Reference Gumbel-softmax (Concrete) relaxed one-hot samples, and their exact moments."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np


def gumbel_softmax_sample(seed: int, logits: np.ndarray, tau: float,
                          n_samples: int) -> jax.Array:
    logits = jnp.asarray(logits, dtype=jnp.float32)
    g = jax.random.gumbel(jax.random.PRNGKey(seed), (n_samples, logits.shape[0]))
    # Noise is added to the logits first; the temperature divides their sum.
    return jax.nn.softmax((logits + g) / tau, axis=-1)


def _moments(logits: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """E[y] and E[y^2] per component of one relaxed sample y, by quadrature.

    softmax is unchanged by adding a constant to every g_k, so only d_j = g_j - g_0 matters,
    and for independent standard Gumbels (d_1, ..., d_{K-1}) has the multivariate logistic
    density (K-1)! exp(-sum d) / (1 + sum exp(-d))^K (integrate g_0 out with t = exp(-g_0)).
    It decays like exp(-|d|), so the trapezoid rule on [-30, 30]^(K-1) is accurate to ~1e-13;
    tests/unit/test_references.py checks it against many samples.
    """
    lg = np.asarray(logits, dtype=np.float64)
    k = lg.size
    if k not in (2, 3):
        raise ValueError("the quadrature is written for K = 2 or 3")
    h = 0.05
    grid = np.arange(-30.0, 30.0 + h / 2, h)
    m1, m2 = np.zeros(k), np.zeros(k)
    chunks = [grid[:, None]] if k == 2 else [
        np.stack([a.ravel(), b.ravel()], axis=1)
        for a, b in (np.meshgrid(part, grid, indexing="ij") for part in np.array_split(grid, 12))]
    for d in chunks:
        log_dens = -d.sum(axis=1) - k * np.log1p(np.exp(-d).sum(axis=1))
        w = math.factorial(k - 1) * np.exp(log_dens) * h ** (k - 1)
        z = (lg + np.concatenate([np.zeros((len(d), 1)), d], axis=1)) / tau
        y = np.exp(z - z.max(axis=1, keepdims=True))
        y /= y.sum(axis=1, keepdims=True)
        m1 += w @ y
        m2 += w @ y**2
    return m1, m2


def expectation(logits: np.ndarray, tau: float, n_samples: int) -> np.ndarray:
    """Every row has the same mean E[softmax((logits + g) / tau)]."""
    m1, _ = _moments(logits, tau)
    return np.tile(m1, (int(n_samples), 1))


def variance(logits: np.ndarray, tau: float, n_samples: int) -> np.ndarray:
    """Per-component variance of one call's output (rows are independent samples)."""
    m1, m2 = _moments(logits, tau)
    return np.tile(m2 - m1**2, (int(n_samples), 1))
