import jax
import jax.numpy as jnp


def reparam_grad(seed, mu, log_sigma, n_samples):
    eps = jax.random.normal(jax.random.PRNGKey(int(seed)), (int(n_samples), mu.shape[0]))
    x = mu + jnp.exp(log_sigma) * eps
    # Pitfall: treats log_sigma as sigma, dropping the exp(log_sigma) factor.
    return jnp.stack([jnp.mean(2 * x, axis=0), jnp.mean(2 * x * eps, axis=0)])
