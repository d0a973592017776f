"""Reference discounted reward-to-go with episode ends: G_t = r_t + gamma (1 - done_t) G_{t+1}."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def discounted_returns(rewards: np.ndarray, dones: np.ndarray, gamma: float) -> jax.Array:
    r = jnp.asarray(rewards, dtype=jnp.float32)
    d = jnp.asarray(dones, dtype=jnp.float32)

    def step(g_next: jax.Array, x: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        reward, done = x
        # An episode ending at step t (done = 1) cuts everything after t out of G_t.
        g = reward + gamma * (1.0 - done) * g_next
        return g, g

    # Backward in time; past the last step nothing is known, so G_T = 0.
    _, returns = jax.lax.scan(step, jnp.float32(0.0), (r, d), reverse=True)
    return returns
