import math

import jax
import jax.numpy as jnp


def iwae_bound(seed, x, mu, log_sigma, n_samples):
    d = x.shape[0]
    eps = jax.random.normal(jax.random.PRNGKey(seed), (n_samples, d))

    # The loss an optimiser minimises: the negative bound.
    def loss(m, ls):
        z = m + jnp.exp(ls) * eps
        log_p = -0.5 * jnp.sum((x - z) ** 2 + z**2, axis=1) - d * math.log(2 * math.pi)
        log_q = -0.5 * jnp.sum(eps**2, axis=1) - jnp.sum(ls) - 0.5 * d * math.log(2 * math.pi)
        return -(jax.nn.logsumexp(log_p - log_q) - math.log(n_samples))

    neg, grads = jax.value_and_grad(loss, argnums=(0, 1))(mu, log_sigma)
    return -neg, jnp.stack(grads)
