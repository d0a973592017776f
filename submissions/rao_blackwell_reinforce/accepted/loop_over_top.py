import jax
import jax.numpy as jnp
import numpy as np


def rao_blackwell_reinforce(seed, logits, reward_table, n_samples, n_exact):
    p = jax.nn.softmax(logits)
    top = np.argsort(-np.asarray(logits), kind="stable")[:n_exact]
    exact = np.zeros(logits.shape[0], dtype=bool)
    exact[top] = True
    g = jnp.zeros_like(logits)
    for j in top:  # summed exactly: probability * reward * score
        g = g + p[j] * reward_table[j] * (jax.nn.one_hot(j, logits.shape[0]) - p)
    rest_logits = jnp.where(exact, -jnp.inf, logits)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), rest_logits,
                                     shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0]) - p
    rest_mass = 1.0 - p[top].sum()
    return g + rest_mass * jnp.mean(reward_table[actions][:, None] * score, axis=0)
