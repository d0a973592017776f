"""Reference REINFORCE estimate with the score as a control variate, its coefficient estimated
per component from the same samples: c_j = Cov(f_j, h_j) / Var(h_j)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def control_variate_grad(seed: float, logits: np.ndarray, reward_table: np.ndarray,
                         n_samples: float) -> jax.Array:
    key = jax.random.PRNGKey(jnp.int32(seed))
    logits = jnp.asarray(logits, dtype=jnp.float32)
    rewards = jnp.asarray(reward_table, dtype=jnp.float32)
    n = int(n_samples)
    actions = jax.random.categorical(key, logits, shape=(n,))
    onehot = jax.nn.one_hot(actions, logits.shape[0], dtype=jnp.float32)
    h = onehot - jax.nn.softmax(logits)  # the score, mean 0 under the policy
    f = rewards[actions][:, None] * h  # plain REINFORCE's per-sample terms
    f_bar, h_bar = jnp.mean(f, axis=0), jnp.mean(h, axis=0)
    cov = jnp.mean((f - f_bar) * (h - h_bar), axis=0)
    var = jnp.mean((h - h_bar) ** 2, axis=0)
    # Var(h_j) is 0 exactly when category j was drawn by every sample or by none.
    counts = jnp.sum(onehot, axis=0)
    spread = (counts > 0) & (counts < n)
    c = jnp.where(spread, cov / jnp.where(spread, var, 1.0), 0.0)
    return f_bar - c * h_bar


def _probs(logits: np.ndarray) -> np.ndarray:
    lg = np.asarray(logits, dtype=np.float64)
    p = np.exp(lg - lg.max())
    return np.asarray(p / p.sum())


def expectation(logits: np.ndarray, reward_table: np.ndarray) -> np.ndarray:
    """The exact gradient p * (R - p.R), in float64."""
    p = _probs(logits)
    r = np.asarray(reward_table, dtype=np.float64)
    return np.asarray(p * (r - p @ r))


def estimate_from_counts(counts: np.ndarray, p: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The estimator as a function of the category counts (rows of `counts`), in float64:
    with m = counts / n, Cov(f_j, h_j) = m_j (R_j (1 - p_j - m_j) + p_j R_bar) and
    Var(h_j) = m_j (1 - m_j), so c_j = (R_j (1 - p_j - m_j) + p_j R_bar) / (1 - m_j)."""
    n = counts.sum(axis=-1, keepdims=True)
    m = counts / n
    r_bar = (m * r).sum(axis=-1, keepdims=True)
    f_bar = m * r - p * r_bar
    spread = (counts > 0) & (counts < n)
    c = np.where(spread, (r * (1 - p - m) + p * r_bar) / np.where(spread, 1 - m, 1.0), 0.0)
    return np.asarray(f_bar - c * (m - p))


def moments(logits: np.ndarray, reward_table: np.ndarray,
            n_samples: float) -> tuple[np.ndarray, np.ndarray]:
    """The exact mean and per-component variance of the n-sample estimate, in float64.

    With N_j draws of category j, 0 < N_j < n, the estimate is p_j (1 - p_j) (R_j - Rbar_j),
    Rbar_j the mean reward of the n - N_j draws other than j (i.i.d. from p restricted to the
    other categories, mean mu_j, variance s2_j): mean g_j, variance p_j^2 (1-p_j)^2 s2_j /
    (n - N_j). N_j = 0 gives -p_j Rbar over n such draws, N_j = n gives R_j (1 - p_j).
    Summed over N_j ~ Binomial(n, p_j)."""
    p = _probs(logits)
    r = np.asarray(reward_table, dtype=np.float64)
    n = int(n_samples)
    g = p * (r - p @ r)
    rest = np.maximum(1.0 - p, 1e-300)
    mu = (p @ r - p * r) / rest  # mean reward of a draw conditioned on a != j
    s2 = np.maximum((p @ r**2 - p * r**2) / rest - mu**2, 0.0)
    k = np.arange(n + 1)[:, None]
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    with np.errstate(divide="ignore"):
        log_pmf = (log_fact[n] - log_fact[k] - log_fact[n - k]
                   + np.where(k > 0, k * np.log(p), 0.0)
                   + np.where(k < n, (n - k) * np.log(1.0 - p), 0.0))
    pmf = np.exp(log_pmf)  # (n + 1, K): P(N_j = k)
    inner = (k > 0) & (k < n)
    mean_k = np.where(inner, g, np.where(k == 0, -p * mu, r * (1 - p)))
    second_k = np.where(inner, g**2 + (p * (1 - p)) ** 2 * s2 / np.maximum(n - k, 1),
                        np.where(k == 0, p**2 * (mu**2 + s2 / n), (r * (1 - p)) ** 2))
    mean = (pmf * mean_k).sum(axis=0)
    return np.asarray(mean), np.asarray((pmf * second_k).sum(axis=0) - mean**2)


def variance(logits: np.ndarray, reward_table: np.ndarray, n_samples: float) -> np.ndarray:
    """Exact per-component variance of the n-sample estimate (see `moments`)."""
    return moments(logits, reward_table, n_samples)[1]


def plain_reinforce(seed: float, logits: np.ndarray, reward_table: np.ndarray,
                    n_samples: float) -> jax.Array:
    """REINFORCE without the control variate, on the same samples: what it must improve on."""
    key = jax.random.PRNGKey(jnp.int32(seed))
    logits = jnp.asarray(logits, dtype=jnp.float32)
    actions = jax.random.categorical(key, logits, shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0], dtype=jnp.float32) - jax.nn.softmax(logits)
    return jnp.mean(jnp.asarray(reward_table, dtype=jnp.float32)[actions][:, None] * score, axis=0)
