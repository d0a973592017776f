import jax
import jax.numpy as jnp


def reinforce_baseline_grad(seed, logits, reward_table, n_samples):
    n = int(n_samples)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits, shape=(n,))
    r = reward_table[actions]
    advantage = jax.lax.stop_gradient(r - (jnp.sum(r) - r) / (n - 1))
    return jax.grad(lambda lg: jnp.mean(advantage * jax.nn.log_softmax(lg)[actions]))(logits)
