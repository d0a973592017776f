import jax.numpy as jnp


def ppo_clip_objective(logp_new, logp_old, advantages, epsilon, reduction):
    ratio = jnp.exp(logp_new - logp_old)
    clipped = jnp.clip(ratio, 1 - epsilon, 1 + epsilon)
    # Pitfall: always the batch mean, whatever `reduction` asks for.
    return jnp.mean(jnp.minimum(ratio * advantages, clipped * advantages)).reshape(1)
