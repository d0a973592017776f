import jax
import jax.numpy as jnp


def policy_gradient_rtg(theta, states, actions, rewards, dones, gamma):
    T = rewards.shape[0]
    # Pitfall: every step of an episode is weighted by the episode's whole discounted return
    # (from its first step), not by the return from step t on.
    weights = [0.0] * T
    start = 0
    for t in range(T):
        if dones[t] or t == T - 1:
            ret = sum(gamma ** (k - start) * float(rewards[k]) for k in range(start, t + 1))
            for k in range(start, t + 1):
                weights[k] = ret
            start = t + 1
    episodes = 1.0 + float(jnp.sum(dones[:-1]))

    def surrogate(th):
        logp = jax.nn.log_softmax(th[states], axis=-1)[jnp.arange(T), actions]
        return jnp.sum(logp * jnp.asarray(weights)) / episodes

    return jax.grad(surrogate)(jnp.asarray(theta))
