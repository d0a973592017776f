import jax
import jax.numpy as jnp


def gumbel_max_sample(key, logits, n):
    # -log(u) is exponential noise; Gumbel noise is -log(-log(u))
    u = jax.random.uniform(key, (n, logits.shape[0]), minval=1e-12, maxval=1.0)
    return jnp.argmax(logits - jnp.log(u), axis=-1).astype(jnp.int32)
