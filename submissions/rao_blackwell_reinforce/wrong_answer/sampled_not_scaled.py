import jax
import jax.numpy as jnp


def rao_blackwell_reinforce(seed, logits, reward_table, n_samples, n_exact):
    p = jax.nn.softmax(logits)
    _, top = jax.lax.top_k(logits, n_exact)
    exact = jnp.zeros(logits.shape, dtype=bool).at[top].set(True)
    eye = jnp.eye(logits.shape[0])
    exact_part = jnp.where(exact, p * reward_table, 0.0) @ (eye - p)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)),
                                     jnp.where(exact, -jnp.inf, logits), shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0]) - p
    # Pitfall: the sampled mean is not scaled by the remainder's probability mass.
    return exact_part + jnp.mean(reward_table[actions][:, None] * score, axis=0)
