import jax
import jax.numpy as jnp


def adam_init(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "count": jnp.array(0, dtype=jnp.int32)}


def adam_step(params, grads, state, lr, b1, b2, eps):
    # Flatten every tree to leaves in the same order, update leaf by leaf, and rebuild.
    p_leaves, treedef = jax.tree_util.tree_flatten(params)
    g_leaves = jax.tree_util.tree_leaves(grads)
    m_leaves = jax.tree_util.tree_leaves(state["m"])
    v_leaves = jax.tree_util.tree_leaves(state["v"])
    count = state["count"] + 1
    step = count.astype(jnp.float32)
    out_p, out_m, out_v = [], [], []
    for p, g, m, v in zip(p_leaves, g_leaves, m_leaves, v_leaves):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * jnp.square(g)
        m_hat = m / (1 - b1**step)
        v_hat = v / (1 - b2**step)
        out_p.append(p - lr * m_hat / (jnp.sqrt(v_hat) + eps))
        out_m.append(m)
        out_v.append(v)
    rebuild = lambda leaves: jax.tree_util.tree_unflatten(treedef, leaves)  # noqa: E731
    return rebuild(out_p), {"m": rebuild(out_m), "v": rebuild(out_v), "count": count}
