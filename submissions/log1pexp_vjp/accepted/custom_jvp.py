import jax
import jax.numpy as jnp


@jax.custom_jvp
def log1pexp(x):
    x = jnp.asarray(x, dtype=jnp.float32)
    return jnp.where(x > 0, x + jnp.log1p(jnp.exp(-x)), jnp.log1p(jnp.exp(x)))


@log1pexp.defjvp
def _rule(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * jax.nn.sigmoid(x)
