import jax
import jax.numpy as jnp


def bernoulli_score_grad(seed, logits, reward_table, n_samples):
    n, k = int(n_samples), logits.shape[0]
    b = jax.random.bernoulli(jax.random.PRNGKey(int(seed)), jax.nn.sigmoid(logits),
                             shape=(n, k)).astype(jnp.float32)
    f = jnp.sum(jnp.where(b > 0, reward_table[:, 1], reward_table[:, 0]), axis=1)

    # Pitfall: the logits used as if they were log-probabilities, log p(b) = b * logits;
    # its gradient is b, not b - sigmoid(logits).
    def surrogate(lg):
        return jnp.mean(f * jnp.sum(b * lg, axis=1))

    return jax.grad(surrogate)(logits)
