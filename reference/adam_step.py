"""Reference Adam on a parameter pytree: a fresh state, and an update with bias correction at the
incremented count."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def adam_init(params: Any) -> dict[str, Any]:
    zeros = lambda p: jnp.zeros(jnp.shape(p), dtype=jnp.float32)  # noqa: E731
    return {"m": jax.tree.map(zeros, params), "v": jax.tree.map(zeros, params),
            "count": jnp.zeros((), dtype=jnp.int32)}


def adam_step(params: Any, grads: Any, state: Any, lr: float, b1: float, b2: float,
              eps: float) -> tuple[Any, Any]:
    t = int(np.asarray(state["count"])) + 1  # this is step t (the first step is t = 1)
    m = jax.tree.map(lambda m, g: b1 * m + (1.0 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1.0 - b2) * g * g, state["v"], grads)
    # Bias correction: m and v start at 0, so early averages are shrunk by 1 - b**t. Computed
    # in float64 here: 1 - b2**t in float32 loses ~1e-5 of its relative precision at b2 = 0.999.
    c1 = 1.0 - b1**t
    c2 = 1.0 - b2**t
    new_params = jax.tree.map(
        lambda p, m, v: jnp.asarray(p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps),
                                    dtype=jnp.float32),
        params, m, v)
    as32 = lambda x: jnp.asarray(x, dtype=jnp.float32)  # noqa: E731
    return new_params, {"m": jax.tree.map(as32, m), "v": jax.tree.map(as32, v),
                        "count": jnp.asarray(t, dtype=jnp.int32)}
