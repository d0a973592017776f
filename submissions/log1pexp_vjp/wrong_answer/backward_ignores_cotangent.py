import jax
import jax.numpy as jnp


@jax.custom_vjp
def log1pexp(x):
    return jnp.logaddexp(0.0, x)


def fwd(x):
    return log1pexp(x), x


def bwd(x, g):
    # The derivative alone: the cotangent g coming from the rest of the program is dropped.
    return (jax.nn.sigmoid(x),)


log1pexp.defvjp(fwd, bwd)
