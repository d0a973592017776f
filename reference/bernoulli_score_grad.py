"""Reference score-function estimate of the gradient of E_{b ~ Bernoulli(sigmoid(logits))}[f(b)].

f(b) = sum_k reward_table[k, b_k]: component k pays reward_table[k, 0] when b_k = 0 and
reward_table[k, 1] when b_k = 1; the K components are independent.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def bernoulli_score_grad(seed: float, logits: np.ndarray, reward_table: np.ndarray,
                         n_samples: float) -> jax.Array:
    key = jax.random.PRNGKey(jnp.int32(seed))
    logits = jnp.asarray(logits, dtype=jnp.float32)
    table = jnp.asarray(reward_table, dtype=jnp.float32)
    p = jax.nn.sigmoid(logits)
    b = jax.random.bernoulli(key, p, shape=(int(n_samples), logits.shape[0]))
    b = b.astype(jnp.float32)
    reward = jnp.sum(jnp.where(b > 0, table[:, 1], table[:, 0]), axis=1)  # f(b_i), [n]
    # d/dlogits log p(b) = d/dlogits [b log sigmoid(l) + (1 - b) log sigmoid(-l)] = b - sigmoid(l)
    score = b - p
    return jnp.mean(reward[:, None] * score, axis=0)


def _moments(logits: np.ndarray, reward_table: np.ndarray) -> tuple[np.ndarray, ...]:
    p = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))
    t = np.asarray(reward_table, dtype=np.float64)
    return p, t[:, 0], t[:, 1]


def expectation(logits: np.ndarray, reward_table: np.ndarray) -> np.ndarray:
    """The exact gradient sigmoid'(l_k) (f_k(1) - f_k(0)), in float64."""
    p, f0, f1 = _moments(logits, reward_table)
    return np.asarray(p * (1 - p) * (f1 - f0))


def variance(logits: np.ndarray, reward_table: np.ndarray, n_samples: float) -> np.ndarray:
    """Per-component variance of the n-sample estimate, in float64.

    With s = b_k - p_k and R the other components' reward (independent of b_k):
    E[(f_k(b_k) + R)^2 s^2] = E[f_k^2 s^2] + 2 E[f_k s^2] E[R] + E[R^2] E[s^2],
    where E[g(b_k) s^2] = p (1 - p)^2 g(1) + (1 - p) p^2 g(0).
    """
    p, f0, f1 = _moments(logits, reward_table)
    mean_k = p * f1 + (1 - p) * f0
    var_k = p * (1 - p) * (f1 - f0) ** 2
    mean_rest = mean_k.sum() - mean_k
    second_rest = (var_k.sum() - var_k) + mean_rest**2

    def e_s2(g1: np.ndarray, g0: np.ndarray) -> np.ndarray:
        return np.asarray(p * (1 - p) ** 2 * g1 + (1 - p) * p**2 * g0)

    second = e_s2(f1**2, f0**2) + 2 * e_s2(f1, f0) * mean_rest + second_rest * p * (1 - p)
    mu = p * (1 - p) * (f1 - f0)
    return np.asarray((second - mu**2) / int(n_samples))
