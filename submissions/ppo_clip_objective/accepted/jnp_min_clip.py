import jax.numpy as jnp

REDUCE = {"mean": jnp.mean, "sum": jnp.sum}


def ppo_clip_objective(logp_new, logp_old, advantages, epsilon, reduction):
    ratio = jnp.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1 - epsilon, 1 + epsilon) * advantages
    return REDUCE[reduction](jnp.minimum(unclipped, clipped), keepdims=True)
