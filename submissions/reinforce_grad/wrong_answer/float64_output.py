import jax
import numpy as np


def reinforce_grad(seed, logits, reward_table, n_samples):
    actions = np.asarray(jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                                shape=(int(n_samples),)))
    lg = np.asarray(logits, dtype=np.float64)
    p = np.exp(lg - lg.max()) / np.exp(lg - lg.max()).sum()
    score = np.eye(len(lg))[actions] - p
    return (np.asarray(reward_table, np.float64)[actions][:, None] * score).mean(axis=0)
