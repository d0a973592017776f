import jax
import jax.numpy as jnp


def reinforce_grad(seed, logits, reward_table, n_samples):
    # Pitfall: the exact gradient p * (R - p.R), not a Monte-Carlo estimate from samples.
    p = jax.nn.softmax(logits)
    return p * (reward_table - jnp.dot(p, reward_table))
