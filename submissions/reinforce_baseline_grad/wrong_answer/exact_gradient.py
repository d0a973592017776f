import jax
import jax.numpy as jnp


def reinforce_baseline_grad(seed, logits, reward_table, n_samples):
    # Pitfall: the exact gradient, which has no sampling noise for a baseline to reduce.
    p = jax.nn.softmax(logits)
    return p * (reward_table - jnp.dot(p, reward_table))
