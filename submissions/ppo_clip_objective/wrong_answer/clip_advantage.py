import jax.numpy as jnp


def ppo_clip_objective(logp_new, logp_old, advantages, epsilon):
    ratio = jnp.exp(logp_new - logp_old)
    # Pitfall: the advantage is clipped instead of the probability ratio.
    clipped = ratio * jnp.clip(advantages, 1 - epsilon, 1 + epsilon)
    return jnp.mean(jnp.minimum(ratio * advantages, clipped)).reshape(1)
