"""Reference Hessian-vector product H_f(x) v, forward-over-reverse: the jvp of the gradient."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


def hvp(f: Callable[[jax.Array], jax.Array], x: np.ndarray, v: np.ndarray) -> jax.Array:
    x, v = jnp.asarray(x, dtype=jnp.float32), jnp.asarray(v, dtype=jnp.float32)
    # d/dt grad f(x + t v) at t = 0 is H_f(x) v: one forward pass through the reverse pass,
    # without ever forming the D x D Hessian.
    _, tangent = jax.jvp(jax.grad(f), (x,), (v,))
    return tangent
