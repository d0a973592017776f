import jax.numpy as jnp


def log1pexp(x):
    # Overflows: exp(89.0) is inf in float32, and its gradient is inf / inf = nan.
    return jnp.log(1.0 + jnp.exp(x))
