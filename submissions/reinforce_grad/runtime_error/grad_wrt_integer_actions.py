import jax
import jax.numpy as jnp


def reinforce_grad(seed, logits, reward_table, n_samples):
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                     shape=(int(n_samples),))
    # Pitfall: differentiating with respect to the integer actions.
    return jax.grad(lambda a: jnp.mean(reward_table[a] * jax.nn.log_softmax(logits)[a]))(actions)
