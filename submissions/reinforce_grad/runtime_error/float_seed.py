import jax
import jax.numpy as jnp


def reinforce_grad(seed, logits, reward_table, n_samples):
    # Pitfall: the seed arrives as a float, and PRNGKey needs an integer.
    actions = jax.random.categorical(jax.random.PRNGKey(seed), logits, shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(logits)
    return jnp.mean(reward_table[actions][:, None] * score, axis=0)
