import jax
import jax.numpy as jnp


@jax.jit
def reinforce_grad(seed, logits, reward_table, n_samples):
    # Pitfall: int() on arguments that jit has turned into tracers.
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                     shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(logits)
    return jnp.mean(reward_table[actions][:, None] * score, axis=0)
