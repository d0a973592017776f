import jax
import jax.numpy as jnp


def reinforce_grad(seed, logits, reward_table, n_samples):
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                     shape=(int(n_samples),))
    # Pitfall: log p(a) taken as logits[a], so the score misses "- softmax(logits)".
    scores = jax.vmap(lambda a: jax.grad(lambda lg: lg[a])(logits))(actions)
    return jnp.mean(reward_table[actions][:, None] * scores, axis=0)
