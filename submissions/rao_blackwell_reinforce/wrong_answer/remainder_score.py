import jax
import jax.numpy as jnp


def rao_blackwell_reinforce(seed, logits, reward_table, n_samples, n_exact):
    p = jax.nn.softmax(logits)
    _, top = jax.lax.top_k(logits, n_exact)
    exact = jnp.zeros(logits.shape, dtype=bool).at[top].set(True)
    eye = jnp.eye(logits.shape[0])
    exact_part = jnp.where(exact, p * reward_table, 0.0) @ (eye - p)
    rest_logits = jnp.where(exact, -jnp.inf, logits)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), rest_logits,
                                     shape=(int(n_samples),))
    # Pitfall: the score of the renormalised remainder, not of the policy softmax(logits).
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(rest_logits)
    mass = jnp.sum(jnp.where(exact, 0.0, p))
    return exact_part + mass * jnp.mean(reward_table[actions][:, None] * score, axis=0)
