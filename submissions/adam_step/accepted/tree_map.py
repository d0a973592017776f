import jax
import jax.numpy as jnp


def adam_init(params):
    return {"m": jax.tree.map(jnp.zeros_like, params),
            "v": jax.tree.map(jnp.zeros_like, params),
            "count": jnp.zeros((), jnp.int32)}


def adam_step(params, grads, state, lr, b1, b2, eps):
    count = state["count"] + 1
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g**2, state["v"], grads)
    # The count is an int32 array: b ** count stays traceable (no int() of it), so jax.jit can
    # compile the step.
    c1 = 1 - b1**count
    c2 = 1 - b2**count

    def update(p, m, v):
        return p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps)

    return jax.tree.map(update, params, m, v), {"m": m, "v": v, "count": count}
