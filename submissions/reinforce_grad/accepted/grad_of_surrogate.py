import jax
import jax.numpy as jnp


def reinforce_grad(seed, logits, reward_table, n_samples):
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                     shape=(int(n_samples),))
    rewards = jax.lax.stop_gradient(reward_table[actions])

    def surrogate(lg):
        return jnp.mean(rewards * jax.nn.log_softmax(lg)[actions])

    return jax.grad(surrogate)(logits)
