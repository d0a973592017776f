"""Reference policy gradient with returns-to-go for a tabular softmax policy:
(1 / episodes) * sum_t G_t * grad_theta log softmax(theta[s_t])[a_t]."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def policy_gradient_rtg(theta: np.ndarray, states: np.ndarray, actions: np.ndarray,
                        rewards: np.ndarray, dones: np.ndarray, gamma: float) -> jax.Array:
    th = jnp.asarray(theta, dtype=jnp.float32)
    s = jnp.asarray(states, dtype=jnp.int32)
    a = jnp.asarray(actions, dtype=jnp.int32)
    r = jnp.asarray(rewards, dtype=jnp.float32)
    d = jnp.asarray(dones, dtype=jnp.float32)

    def step(g_next: jax.Array, x: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        reward, done = x
        g = reward + gamma * (1.0 - done) * g_next  # the return-to-go, cut at episode ends
        return g, g

    _, returns = jax.lax.scan(step, jnp.float32(0.0), (r, d), reverse=True)
    # Episodes in the buffer: one per done before the last step, plus the last one (finished
    # or cut off by the buffer).
    episodes = 1.0 + jnp.sum(d[:-1])

    def surrogate(th: jax.Array) -> jax.Array:
        logp = jax.nn.log_softmax(th[s], axis=-1)[jnp.arange(s.shape[0]), a]
        # The returns are weights, not functions of theta.
        return jnp.sum(logp * jax.lax.stop_gradient(returns)) / episodes

    return jax.grad(surrogate)(th)
