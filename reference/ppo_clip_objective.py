"""Reference PPO clipped surrogate: min(r A, clip(r, 1 - eps, 1 + eps) A), r = p_new/p_old,
averaged (reduction "mean") or summed (reduction "sum") over the batch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def ppo_clip_objective(logp_new: np.ndarray, logp_old: np.ndarray, advantages: np.ndarray,
                       epsilon: float, reduction: str) -> jax.Array:
    adv = jnp.asarray(advantages, dtype=jnp.float32)
    # The probability ratio, from log-probabilities: exp(log p_new - log p_old).
    ratio = jnp.exp(jnp.asarray(logp_new, jnp.float32) - jnp.asarray(logp_old, jnp.float32))
    clipped = jnp.clip(ratio, 1.0 - epsilon, 1.0 + epsilon)
    # The pessimistic (smaller) of the two surrogates, per sample, then the batch's reduction.
    per_sample = jnp.minimum(ratio * adv, clipped * adv)
    objective = jnp.mean(per_sample) if reduction == "mean" else jnp.sum(per_sample)
    return objective.reshape(1)
