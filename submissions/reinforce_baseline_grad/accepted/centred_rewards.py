import jax
import jax.numpy as jnp


def reinforce_baseline_grad(seed, logits, reward_table, n_samples):
    n = int(n_samples)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits, shape=(n,))
    r = reward_table[actions]
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(logits)
    return ((r - jnp.mean(r)) @ score) / (n - 1)
