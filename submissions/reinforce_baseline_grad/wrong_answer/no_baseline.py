import jax
import jax.numpy as jnp


def reinforce_baseline_grad(seed, logits, reward_table, n_samples):
    n = int(n_samples)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits, shape=(n,))
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(logits)
    return jnp.mean(reward_table[actions][:, None] * score, axis=0)
