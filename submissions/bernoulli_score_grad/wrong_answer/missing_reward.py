import jax
import jax.numpy as jnp


def bernoulli_score_grad(seed, logits, reward_table, n_samples):
    p = jax.nn.sigmoid(logits)
    b = jax.random.bernoulli(jax.random.PRNGKey(int(seed)), p,
                             shape=(int(n_samples), logits.shape[0])).astype(jnp.float32)
    # Pitfall: the score alone, never weighted by the sample's reward f(b).
    return jnp.mean(b - p, axis=0)
