import jax.numpy as jnp


def log1pexp(x):
    # log(e^0 + e^x), computed by jnp.logaddexp as max + log1p(exp(-|difference|)); its
    # derivative rule is stable too.
    return jnp.logaddexp(0.0, x)
