import math

import jax
import jax.numpy as jnp


def iwae_bound(seed, x, mu, log_sigma, n_samples):
    d = x.shape[0]
    eps = jax.random.normal(jax.random.PRNGKey(seed), (n_samples, d))
    sigma = jnp.exp(log_sigma)
    z = mu + sigma * eps
    log_w = (-0.5 * jnp.sum((x - z) ** 2 + z**2 - eps**2, axis=1) + jnp.sum(log_sigma)
             - 0.5 * d * math.log(2 * math.pi))
    value = jax.nn.logsumexp(log_w) - math.log(n_samples)
    w = jax.nn.softmax(log_w)  # normalised weights
    # d log w / dz = x - 2z (log q does not depend on mu once z = mu + sigma * eps).
    dz = x - 2 * z
    g_mu = w @ dz
    g_ls = w @ (dz * sigma * eps) + 1.0
    return value, jnp.stack([g_mu, g_ls])
