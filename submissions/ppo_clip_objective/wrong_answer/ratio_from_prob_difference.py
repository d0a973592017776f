import jax.numpy as jnp


def ppo_clip_objective(logp_new, logp_old, advantages, epsilon):
    # Pitfall: the difference of the probabilities, not their quotient p_new / p_old.
    ratio = jnp.exp(logp_new) - jnp.exp(logp_old)
    clipped = jnp.clip(ratio, 1 - epsilon, 1 + epsilon)
    return jnp.mean(jnp.minimum(ratio * advantages, clipped * advantages)).reshape(1)
