import jax
import jax.numpy as jnp


def gae_advantages(rewards, values, dones, gamma, lam):
    # Pitfall: the TD error bootstraps from values[t + 1] even where step t ends its episode,
    # so the first state of the next episode leaks its value into this one.
    deltas = rewards + gamma * values[1:] - values[:-1]

    def step(a, x):
        delta, done = x
        a = delta + gamma * lam * (1.0 - done) * a
        return a, a

    _, adv = jax.lax.scan(step, jnp.float32(0.0), (deltas, dones), reverse=True)
    return adv
