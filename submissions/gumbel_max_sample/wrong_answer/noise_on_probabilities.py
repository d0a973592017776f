import jax
import jax.numpy as jnp


def gumbel_max_sample(key, logits, n):
    g = jax.random.gumbel(key, (n, logits.shape[0]))
    # the noise perturbs the probabilities, not the logits (log-probabilities)
    return jnp.argmax(jax.nn.softmax(logits) + g, axis=-1).astype(jnp.int32)
