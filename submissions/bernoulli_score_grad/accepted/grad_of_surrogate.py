import jax
import jax.numpy as jnp


def bernoulli_score_grad(seed, logits, reward_table, n_samples):
    n, k = int(n_samples), logits.shape[0]
    b = jax.random.bernoulli(jax.random.PRNGKey(int(seed)), jax.nn.sigmoid(logits),
                             shape=(n, k)).astype(jnp.float32)
    # f(b) = sum_k reward_table[k, b_k], held constant while differentiating.
    f = jax.lax.stop_gradient(jnp.sum(reward_table[jnp.arange(k), b.astype(jnp.int32)], axis=1))

    def surrogate(lg):
        log_p = b * jax.nn.log_sigmoid(lg) + (1 - b) * jax.nn.log_sigmoid(-lg)
        return jnp.mean(f * jnp.sum(log_p, axis=1))

    return jax.grad(surrogate)(logits)
