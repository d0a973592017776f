import jax


def hvp(f, x, v):
    # Forward-over-reverse: the directional derivative of the gradient along v.
    return jax.jvp(jax.grad(f), (x,), (v,))[1]
