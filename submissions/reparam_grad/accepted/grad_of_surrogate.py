import jax
import jax.numpy as jnp


def reparam_grad(seed, mu, log_sigma, n_samples):
    eps = jax.random.normal(jax.random.PRNGKey(int(seed)), (int(n_samples), mu.shape[0]))

    def objective(params):
        m, ls = params
        x = m + jnp.exp(ls) * eps
        return jnp.mean(jnp.sum(x**2, axis=1))

    g_mu, g_ls = jax.grad(objective)((mu, log_sigma))
    return jnp.stack([g_mu, g_ls])
