import jax
import jax.numpy as jnp


def control_variate_grad(seed, logits, reward_table, n_samples):
    n = int(n_samples)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits, shape=(n,))
    onehot = jax.nn.one_hot(actions, logits.shape[0])
    h = onehot - jax.nn.softmax(logits)
    f = reward_table[actions][:, None] * h
    f_bar, h_bar = f.mean(axis=0), h.mean(axis=0)
    cov = ((f - f_bar) * (h - h_bar)).mean(axis=0)
    var = ((h - h_bar) ** 2).mean(axis=0)
    counts = onehot.sum(axis=0)
    ok = (counts > 0) & (counts < n)
    c = jnp.where(ok, cov / jnp.where(ok, var, 1.0), 0.0)
    # Pitfall: the control variate added instead of subtracted, which doubles the noise it
    # should cancel.
    return f_bar + c * h_bar
