import jax
import jax.numpy as jnp


def gumbel_max_sample(key, logits, n):
    noise = jax.random.gumbel(key, (n, logits.shape[0]))
    perturbed = jnp.asarray(logits)[None, :] + noise      # one perturbed copy per sample
    return jnp.argmax(perturbed, axis=1).astype(jnp.int32)
