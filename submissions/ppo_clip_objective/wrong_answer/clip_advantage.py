import jax.numpy as jnp


def ppo_clip_objective(logp_new, logp_old, advantages, epsilon, reduction):
    ratio = jnp.exp(logp_new - logp_old)
    # Pitfall: the advantage is clipped instead of the probability ratio.
    clipped = ratio * jnp.clip(advantages, 1 - epsilon, 1 + epsilon)
    per_sample = jnp.minimum(ratio * advantages, clipped)
    return (per_sample.mean() if reduction == "mean" else per_sample.sum()).reshape(1)
