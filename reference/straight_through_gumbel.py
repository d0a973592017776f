"""Reference: a Gumbel-softmax sample with the key it is given, relaxed (hard=False) or
straight-through (hard=True: the one-hot of its argmax forward, the relaxed gradient backward)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def st_gumbel(key: jax.Array, logits: np.ndarray, tau: float, hard: bool) -> jax.Array:
    logits = jnp.asarray(logits, dtype=jnp.float32)
    g = jax.random.gumbel(key, logits.shape)
    y_soft = jax.nn.softmax((logits + g) / tau)
    if not hard:
        return y_soft
    y_hard = jax.nn.one_hot(jnp.argmax(y_soft), logits.shape[-1], dtype=jnp.float32)
    # Forward: y_hard (up to rounding). Backward: only the last y_soft carries a gradient.
    return y_hard - jax.lax.stop_gradient(y_soft) + y_soft
