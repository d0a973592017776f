import jax
import jax.numpy as jnp
from jax.scipy.stats import norm


def iwae_bound(seed, x, mu, log_sigma, n_samples):
    eps = jax.random.normal(jax.random.PRNGKey(seed), (n_samples, x.shape[0]))

    def bound(m, ls):
        z = m + jnp.exp(ls) * eps
        log_w = jnp.sum(norm.logpdf(x, loc=z) + norm.logpdf(z)
                        - norm.logpdf(z, loc=m, scale=jnp.exp(ls)), axis=1)
        return jax.nn.logsumexp(log_w)

    value, grads = jax.value_and_grad(bound, argnums=(0, 1))(mu, log_sigma)
    return value, jnp.stack(grads)
