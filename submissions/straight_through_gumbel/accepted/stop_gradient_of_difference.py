import jax
import jax.numpy as jnp


def st_gumbel(key, logits, tau, hard):
    g = jax.random.gumbel(key, logits.shape)
    # softmax written out, shifted by its max so exp never overflows at small tau
    z = (logits + g) / tau
    e = jnp.exp(z - jax.lax.stop_gradient(jnp.max(z)))
    y_soft = e / jnp.sum(e)
    if not hard:
        return y_soft
    y_hard = (jnp.arange(logits.shape[0]) == jnp.argmax(logits + g)).astype(jnp.float32)
    # the whole correction is constant: y_soft's gradient, y_hard's value
    return y_soft + jax.lax.stop_gradient(y_hard - y_soft)
