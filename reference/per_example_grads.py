"""Reference per-example gradients of the logistic loss log(1 + exp(-y x.w)) w.r.t. w."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def per_example_grads(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> jax.Array:
    def loss(w: jax.Array, xi: jax.Array, yi: jax.Array) -> jax.Array:
        # One example's loss; softplus(z) = log(1 + exp(z)) without overflow.
        return jax.nn.softplus(-yi * jnp.dot(xi, w))

    w, x, y = (jnp.asarray(a, dtype=jnp.float32) for a in (w, x, y))
    # grad w.r.t. the first argument, mapped over the rows of x and y (w shared): [B, D].
    return jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(w, x, y)
