import jax
import jax.numpy as jnp


def reparam_grad(seed, mu, log_sigma, n_samples):
    eps = jax.random.normal(jax.random.PRNGKey(int(seed)), (int(n_samples), mu.shape[0]))
    sigma = jnp.exp(log_sigma)
    x = mu + sigma * eps
    return jnp.stack([jnp.sum(2 * x, axis=0), jnp.sum(2 * x * eps * sigma, axis=0)])
