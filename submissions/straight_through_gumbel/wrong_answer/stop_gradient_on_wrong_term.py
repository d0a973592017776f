import jax
import jax.numpy as jnp


def st_gumbel(key, logits, tau, hard):
    g = jax.random.gumbel(key, logits.shape)
    y_soft = jax.nn.softmax((logits + g) / tau)
    if not hard:
        return y_soft
    y_hard = jax.nn.one_hot(jnp.argmax(y_soft), logits.shape[0], dtype=jnp.float32)
    # the stop_gradient sits on the added y_soft: the gradient that flows is -d(y_soft)
    return y_hard - y_soft + jax.lax.stop_gradient(y_soft)
