import jax
import jax.numpy as jnp


def policy_gradient_rtg(theta, states, actions, rewards, dones, gamma):
    def step(g, x):
        r, d = x
        g = r + gamma * (1.0 - d) * g
        return g, g

    _, returns = jax.lax.scan(step, 0.0, (rewards, dones), reverse=True)

    def surrogate(th):
        logp = jax.nn.log_softmax(th[states], axis=-1)[jnp.arange(states.shape[0]), actions]
        # Pitfall: the mean over all time steps, not the sum over steps averaged over episodes.
        return jnp.mean(logp * returns)

    return jax.grad(surrogate)(jnp.asarray(theta))
