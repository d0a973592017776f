import jax


def hvp(f, x, v):
    # jvp returns (primal_out, tangent_out): [0] is grad f(x) itself.
    return jax.jvp(jax.grad(f), (x,), (v,))[0]
