import jax
import jax.numpy as jnp


def gumbel_softmax_sample(seed, logits, tau, n_samples):
    g = jax.random.gumbel(jax.random.PRNGKey(seed), (n_samples, logits.shape[0]))
    z = (logits + g) / tau
    return jnp.exp(z - jax.scipy.special.logsumexp(z, axis=1, keepdims=True))
