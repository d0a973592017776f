import math

import jax
import jax.numpy as jnp


def iwae_bound(seed, x, mu, log_sigma, n_samples):
    d = x.shape[0]
    eps = jax.random.normal(jax.random.PRNGKey(seed), (n_samples, d))

    def bound(m, ls):
        z = m + jnp.exp(ls) * eps
        log_p = -0.5 * jnp.sum((x - z) ** 2 + z**2, axis=1) - d * math.log(2 * math.pi)
        # The density of q written as a standard normal in eps, without the 1/sigma factor.
        log_q = -0.5 * jnp.sum(eps**2, axis=1) - 0.5 * d * math.log(2 * math.pi)
        return jax.nn.logsumexp(log_p - log_q) - math.log(n_samples)

    value, grads = jax.value_and_grad(bound, argnums=(0, 1))(mu, log_sigma)
    return value, jnp.stack(grads)
