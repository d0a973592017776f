import jax
import jax.numpy as jnp


def antithetic_reparam_grad(seed, mu, log_sigma, n_pairs):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    # The second half of each pair is a fresh draw, not -eps.
    eps = jnp.concatenate([jax.random.normal(k1, (n_pairs, mu.shape[0])),
                           jax.random.normal(k2, (n_pairs, mu.shape[0]))])
    sigma = jnp.exp(log_sigma)
    fx = jnp.exp(mu + sigma * eps)
    return jnp.stack([jnp.mean(fx, axis=0), jnp.mean(fx * eps * sigma, axis=0)])
