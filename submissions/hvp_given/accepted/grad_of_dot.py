import jax
import jax.numpy as jnp


def hvp(f, x, v):
    # Reverse-over-reverse: grad_x (grad f(x) . v) = H v, as H is symmetric.
    return jax.grad(lambda y: jnp.vdot(jax.grad(f)(y), v))(x)
