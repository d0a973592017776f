import jax
import jax.numpy as jnp


def antithetic_reparam_grad(seed, mu, log_sigma, n_pairs):
    eps = jax.random.normal(jax.random.PRNGKey(seed), (n_pairs, mu.shape[0]))
    sigma = jnp.exp(log_sigma)
    x_plus, x_minus = mu + sigma * eps, mu - sigma * eps
    # Adds the two halves of each pair but averages only over the pairs.
    g_mu = jnp.mean(jnp.exp(x_plus) + jnp.exp(x_minus), axis=0)
    g_ls = jnp.mean((jnp.exp(x_plus) - jnp.exp(x_minus)) * eps * sigma, axis=0)
    return jnp.stack([g_mu, g_ls])
