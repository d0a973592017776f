import jax
import jax.numpy as jnp
from jax.scipy.stats import norm


def f(x):
    return jnp.sum(x**2, axis=-1)


def _eps(seed, mu, n_samples):
    return jax.random.normal(jax.random.PRNGKey(int(seed)), (int(n_samples), mu.shape[0]))


def score_grad(seed, mu, sigma, n_samples):
    x = jax.lax.stop_gradient(mu + sigma * _eps(seed, mu, n_samples))

    def surrogate(m):  # its gradient is mean f(x) * grad_m log q(x; m), the samples held fixed
        return jnp.mean(f(x) * jnp.sum(norm.logpdf(x, m, sigma), axis=-1))

    return jax.grad(surrogate)(mu)


def pathwise_grad(seed, mu, sigma, n_samples):
    eps = _eps(seed, mu, n_samples)
    return jax.grad(lambda m: jnp.mean(f(m + sigma * eps)))(mu)
