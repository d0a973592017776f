import jax
import jax.numpy as jnp


def rao_blackwell_reinforce(seed, logits, reward_table, n_samples, n_exact):
    _, top = jax.lax.top_k(logits, n_exact)
    exact = jnp.zeros(logits.shape, dtype=bool).at[top].set(True)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)),
                                     jnp.where(exact, -jnp.inf, logits), shape=(int(n_samples),))

    def surrogate(lg):
        logp = jax.nn.log_softmax(lg)
        w = jax.lax.stop_gradient(jnp.exp(logp))  # weights, not differentiated
        exact_sum = jnp.sum(jnp.where(exact, w * reward_table * logp, 0.0))
        mass = jnp.sum(jnp.where(exact, 0.0, w))
        return exact_sum + mass * jnp.mean(reward_table[actions] * logp[actions])

    return jax.grad(surrogate)(logits)
