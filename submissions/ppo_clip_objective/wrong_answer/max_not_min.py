import jax.numpy as jnp


def ppo_clip_objective(logp_new, logp_old, advantages, epsilon, reduction):
    ratio = jnp.exp(logp_new - logp_old)
    clipped = jnp.clip(ratio, 1 - epsilon, 1 + epsilon)
    # Pitfall: the optimistic bound; the clipped objective takes the smaller surrogate.
    per_sample = jnp.maximum(ratio * advantages, clipped * advantages)
    return (per_sample.mean() if reduction == "mean" else per_sample.sum()).reshape(1)
