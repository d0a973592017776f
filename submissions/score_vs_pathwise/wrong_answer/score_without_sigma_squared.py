import jax
import jax.numpy as jnp


def _samples(seed, mu, sigma, n_samples):
    eps = jax.random.normal(jax.random.PRNGKey(int(seed)), (int(n_samples), mu.shape[0]))
    return mu + sigma * eps


def score_grad(seed, mu, sigma, n_samples):
    x = _samples(seed, mu, sigma, n_samples)
    f = jnp.sum(x**2, axis=1, keepdims=True)
    return jnp.mean(f * (x - mu), axis=0)  # the score of a unit-variance Gaussian


def pathwise_grad(seed, mu, sigma, n_samples):
    return jnp.mean(2.0 * _samples(seed, mu, sigma, n_samples), axis=0)
