import jax
import jax.numpy as jnp


def adam_init(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "count": jnp.array(0, dtype=jnp.int32)}


def adam_step(params, grads, state, lr, b1, b2, eps):
    count = state["count"] + 1
    t = count.astype(jnp.float32)
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)

    def update(p, m, v):
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        # Pitfall: eps under the square root; Adam adds it to sqrt(v_hat).
        return p - lr * m_hat / jnp.sqrt(v_hat + eps)

    return jax.tree.map(update, params, m, v), {"m": m, "v": v, "count": count}
