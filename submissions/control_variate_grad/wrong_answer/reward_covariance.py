import jax
import jax.numpy as jnp


def control_variate_grad(seed, logits, reward_table, n_samples):
    n = int(n_samples)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits, shape=(n,))
    onehot = jax.nn.one_hot(actions, logits.shape[0])
    h = onehot - jax.nn.softmax(logits)
    rewards = reward_table[actions]
    f = rewards[:, None] * h
    h_bar = h.mean(axis=0)
    # Pitfall: the coefficient regresses the reward R(a) on h, not the term f = R(a) h.
    cov = ((rewards - rewards.mean())[:, None] * (h - h_bar)).mean(axis=0)
    var = ((h - h_bar) ** 2).mean(axis=0)
    counts = onehot.sum(axis=0)
    ok = (counts > 0) & (counts < n)
    c = jnp.where(ok, cov / jnp.where(ok, var, 1.0), 0.0)
    return f.mean(axis=0) - c * h_bar
