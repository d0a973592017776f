import jax

EPS = 1e-3


def hvp(f, x, v):
    # A forward difference of the gradient along v: an approximation, not the product.
    g = jax.grad(f)
    return (g(x + EPS * v) - g(x)) / EPS
