import jax
import jax.numpy as jnp


def bernoulli_score_grad(seed, logits, reward_table, n_samples):
    p = jax.nn.sigmoid(logits)
    b = jax.random.bernoulli(jax.random.PRNGKey(int(seed)), p,
                             shape=(int(n_samples), logits.shape[0])).astype(jnp.float32)
    f = jnp.sum(jnp.where(b > 0, reward_table[:, 1], reward_table[:, 0]), axis=1)
    # Pitfall: the per-sample terms are summed, not averaged.
    return jnp.sum(f[:, None] * (b - p), axis=0)
