import jax
import jax.numpy as jnp


def antithetic_reparam_grad(seed, mu, log_sigma, n_pairs):
    eps = jax.random.normal(jax.random.PRNGKey(seed), (n_pairs, mu.shape[0]))

    def objective(m, ls):
        x = m + jnp.exp(ls) * eps
        # The antithetic partner of x taken as -x instead of mu - sigma * eps.
        return jnp.mean(jnp.sum(jnp.exp(x) + jnp.exp(-x), axis=1)) / 2.0

    g_mu, g_ls = jax.grad(objective, argnums=(0, 1))(mu, log_sigma)
    return jnp.stack([g_mu, g_ls])
