import jax
import jax.numpy as jnp


def reinforce_grad(seed, logits, reward_table, n_samples):
    key = jax.random.PRNGKey(int(seed))
    actions = jax.random.categorical(key, logits, shape=(int(n_samples),))

    def score(a):
        return jax.grad(lambda lg: jax.nn.log_softmax(lg)[a])(logits)

    scores = jax.vmap(score)(actions)
    return jnp.mean(reward_table[actions][:, None] * scores, axis=0)
