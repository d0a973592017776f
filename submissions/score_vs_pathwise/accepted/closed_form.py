import jax
import jax.numpy as jnp


def _samples(seed, mu, sigma, n_samples):
    eps = jax.random.normal(jax.random.PRNGKey(int(seed)), (int(n_samples), mu.shape[0]))
    return mu + sigma * eps, eps


def score_grad(seed, mu, sigma, n_samples):
    x, eps = _samples(seed, mu, sigma, n_samples)
    f = jnp.sum(x * x, axis=1)
    # (x - mu) / sigma^2 is eps / sigma for x = mu + sigma * eps.
    return jnp.mean(f[:, None] * eps / sigma, axis=0)


def pathwise_grad(seed, mu, sigma, n_samples):
    x, _ = _samples(seed, mu, sigma, n_samples)
    return 2.0 * jnp.mean(x, axis=0)
