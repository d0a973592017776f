"""Reference REINFORCE estimate of the gradient of E_{a~softmax(logits)}[R(a)] w.r.t. logits."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def reinforce_grad(seed: float, logits: np.ndarray, reward_table: np.ndarray,
                   n_samples: float) -> jax.Array:
    key = jax.random.PRNGKey(jnp.int32(seed))
    logits = jnp.asarray(logits, dtype=jnp.float32)
    rewards = jnp.asarray(reward_table, dtype=jnp.float32)
    actions = jax.random.categorical(key, logits, shape=(int(n_samples),))
    # Score of one sample: d/dlogits log_softmax(logits)[a] = onehot(a) - softmax(logits).
    score = jax.nn.one_hot(actions, logits.shape[0], dtype=jnp.float32) - jax.nn.softmax(logits)
    return jnp.mean(rewards[actions][:, None] * score, axis=0)


def expectation(logits: np.ndarray, reward_table: np.ndarray) -> np.ndarray:
    """The exact gradient p * (R - p.R), in float64."""
    lg = np.asarray(logits, dtype=np.float64)
    p = np.exp(lg - lg.max())
    p /= p.sum()
    r = np.asarray(reward_table, dtype=np.float64)
    return np.asarray(p * (r - p @ r))


def variance(logits: np.ndarray, reward_table: np.ndarray, n_samples: float) -> np.ndarray:
    """Per-component variance of the n-sample estimate (DESIGN.md), in float64."""
    lg = np.asarray(logits, dtype=np.float64)
    p = np.exp(lg - lg.max())
    p /= p.sum()
    r = np.asarray(reward_table, dtype=np.float64)
    mu = p * (r - p @ r)
    one = p * r**2 * (1 - 2 * p) + p**2 * (p @ r**2) - mu**2
    return np.asarray(one / int(n_samples))
