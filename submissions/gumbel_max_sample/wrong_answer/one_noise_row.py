import jax
import jax.numpy as jnp


def gumbel_max_sample(key, logits, n):
    # one noise vector of the logits' shape: every one of the n samples is the same action
    g = jax.random.gumbel(key, logits.shape)
    return jnp.full((n,), jnp.argmax(logits + g), dtype=jnp.int32)
