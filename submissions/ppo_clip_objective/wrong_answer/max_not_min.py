import jax.numpy as jnp


def ppo_clip_objective(logp_new, logp_old, advantages, epsilon):
    ratio = jnp.exp(logp_new - logp_old)
    clipped = jnp.clip(ratio, 1 - epsilon, 1 + epsilon)
    # Pitfall: the optimistic bound; the clipped objective takes the smaller surrogate.
    return jnp.mean(jnp.maximum(ratio * advantages, clipped * advantages)).reshape(1)
