"""Reference Generalised Advantage Estimation with episode ends:
delta_t = r_t + gamma (1 - done_t) V_{t+1} - V_t, A_t = delta_t + gamma lam (1 - done_t) A_{t+1}.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def gae_advantages(rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, gamma: float,
                   lam: float) -> jax.Array:
    r = jnp.asarray(rewards, dtype=jnp.float32)
    v = jnp.asarray(values, dtype=jnp.float32)
    d = jnp.asarray(dones, dtype=jnp.float32)
    alive = 1.0 - d  # 0 where step t ends its episode: nothing after t belongs to it
    # One-step TD errors; values[t + 1] bootstraps only while the episode goes on.
    deltas = r + gamma * alive * v[1:] - v[:-1]

    def step(a_next: jax.Array, x: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        delta, keep = x
        a = delta + gamma * lam * keep * a_next
        return a, a

    # Backward in time; past the last step the advantage is 0 (values[T] already bootstraps).
    _, advantages = jax.lax.scan(step, jnp.float32(0.0), (deltas, alive), reverse=True)
    return advantages
