import jax
import jax.numpy as jnp


def gumbel_max_sample(key, logits, n):
    # jax.random.categorical is the Gumbel-max trick: it draws jax.random.gumbel(key,
    # (n, K)) and takes the argmax of logits + noise, the very call the statement fixes.
    return jax.random.categorical(key, jnp.asarray(logits), shape=(n,)).astype(jnp.int32)
