import jax
import jax.numpy as jnp


def discounted_returns(rewards, dones, gamma):
    # Pitfall: dones are ignored, so rewards of the next episode leak into this one's returns.
    def step(g, r):
        g = r + gamma * g
        return g, g

    _, out = jax.lax.scan(step, jnp.float32(0.0), rewards, reverse=True)
    return out
