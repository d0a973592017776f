import jax
import jax.numpy as jnp


def discounted_returns(rewards, dones, gamma):
    # Scan forward over the reversed sequence, then flip the result back.
    def step(g, x):
        r, d = x
        g = r + gamma * g * (1 - d)
        return g, g

    _, out = jax.lax.scan(step, 0.0, (rewards[::-1], dones[::-1]))
    return jnp.asarray(out[::-1], dtype=jnp.float32)
