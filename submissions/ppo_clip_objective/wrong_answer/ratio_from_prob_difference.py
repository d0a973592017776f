import jax.numpy as jnp


def ppo_clip_objective(logp_new, logp_old, advantages, epsilon, reduction):
    # Pitfall: the difference of the probabilities, not their quotient p_new / p_old.
    ratio = jnp.exp(logp_new) - jnp.exp(logp_old)
    clipped = jnp.clip(ratio, 1 - epsilon, 1 + epsilon)
    per_sample = jnp.minimum(ratio * advantages, clipped * advantages)
    return (per_sample.mean() if reduction == "mean" else per_sample.sum()).reshape(1)
