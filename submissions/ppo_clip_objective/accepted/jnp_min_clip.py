import jax.numpy as jnp


def ppo_clip_objective(logp_new, logp_old, advantages, epsilon):
    ratio = jnp.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1 - epsilon, 1 + epsilon) * advantages
    return jnp.minimum(unclipped, clipped).mean(keepdims=True)
