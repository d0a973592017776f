import jax
import jax.numpy as jnp


def gumbel_softmax_sample(seed, logits, tau, n_samples):
    g = jax.random.gumbel(jax.random.PRNGKey(seed), (n_samples, logits.shape[0]))
    return jax.nn.one_hot(jnp.argmax(logits + g, axis=-1), logits.shape[0], dtype=jnp.float32)
