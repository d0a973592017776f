"""Reference REINFORCE estimate with the leave-one-out baseline, which keeps it unbiased."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def reinforce_baseline_grad(seed: float, logits: np.ndarray, reward_table: np.ndarray,
                            n_samples: float) -> jax.Array:
    n = int(n_samples)
    if n < 2:
        raise ValueError("the leave-one-out baseline needs n_samples >= 2")
    key = jax.random.PRNGKey(jnp.int32(seed))
    logits = jnp.asarray(logits, dtype=jnp.float32)
    rewards = jnp.asarray(reward_table, dtype=jnp.float32)
    actions = jax.random.categorical(key, logits, shape=(n,))
    r = rewards[actions]
    # Baseline for sample i is the mean of the other n-1 rewards, independent of a_i.
    baseline = (jnp.sum(r) - r) / (n - 1)
    score = jax.nn.one_hot(actions, logits.shape[0], dtype=jnp.float32) - jax.nn.softmax(logits)
    return jnp.mean((r - baseline)[:, None] * score, axis=0)


def expectation(logits: np.ndarray, reward_table: np.ndarray) -> np.ndarray:
    """Unbiased: the same exact gradient as plain REINFORCE."""
    lg = np.asarray(logits, dtype=np.float64)
    p = np.exp(lg - lg.max())
    p /= p.sum()
    r = np.asarray(reward_table, dtype=np.float64)
    return np.asarray(p * (r - p @ r))


def plain_reinforce(seed: float, logits: np.ndarray, reward_table: np.ndarray,
                    n_samples: float) -> jax.Array:
    """REINFORCE without a baseline, for the check that the baseline earns its keep."""
    key = jax.random.PRNGKey(jnp.int32(seed))
    logits = jnp.asarray(logits, dtype=jnp.float32)
    actions = jax.random.categorical(key, logits, shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0], dtype=jnp.float32) - jax.nn.softmax(logits)
    return jnp.mean(jnp.asarray(reward_table, dtype=jnp.float32)[actions][:, None] * score, axis=0)
