import jax
import jax.numpy as jnp


def antithetic_reparam_grad(seed, mu, log_sigma, n_pairs):
    eps = jax.random.normal(jax.random.PRNGKey(seed), (n_pairs, mu.shape[0]))
    both = jnp.concatenate([eps, -eps])  # every pair (eps, -eps), 2 n samples in all

    def objective(m, ls):
        return jnp.mean(jnp.sum(jnp.exp(m + jnp.exp(ls) * both), axis=1))

    g_mu, g_ls = jax.grad(objective, argnums=(0, 1))(mu, log_sigma)
    return jnp.stack([g_mu, g_ls])
