import jax
import jax.numpy as jnp


def reinforce_baseline_grad(seed, logits, reward_table, n_samples):
    n = int(n_samples)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits, shape=(n,))
    r = reward_table[actions]
    baseline = (jnp.sum(r) - r) / (n - 1)
    scores = jax.vmap(lambda a: jax.grad(lambda lg: jax.nn.log_softmax(lg)[a])(logits))(actions)
    return jnp.mean((r - baseline)[:, None] * scores, axis=0)
