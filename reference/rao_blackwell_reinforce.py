"""Reference Rao-Blackwellised REINFORCE: the n_exact most probable categories summed exactly,
the rest estimated from samples of the renormalised remainder, scaled by its mass."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def rao_blackwell_reinforce(seed: float, logits: np.ndarray, reward_table: np.ndarray,
                            n_samples: float, n_exact: int) -> jax.Array:
    key = jax.random.PRNGKey(jnp.int32(seed))
    logits = jnp.asarray(logits, dtype=jnp.float32)
    rewards = jnp.asarray(reward_table, dtype=jnp.float32)
    k_all = logits.shape[0]
    p = jax.nn.softmax(logits)
    _, top = jax.lax.top_k(logits, int(n_exact))
    exact = jnp.zeros(k_all, dtype=bool).at[top].set(True)
    eye = jnp.eye(k_all, dtype=jnp.float32)
    # Exact part: sum over j in the top set of p_j R_j (onehot(j) - p).
    exact_part = jnp.where(exact, p * rewards, 0.0) @ (eye - p)
    rest_logits = jnp.where(exact, -jnp.inf, logits)
    actions = jax.random.categorical(key, rest_logits, shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, k_all, dtype=jnp.float32) - p  # the full policy's score
    mass = jnp.sum(jnp.where(exact, 0.0, p))  # of the remainder
    return exact_part + mass * jnp.mean(rewards[actions][:, None] * score, axis=0)


def _probs(logits: np.ndarray) -> np.ndarray:
    lg = np.asarray(logits, dtype=np.float64)
    p = np.exp(lg - lg.max())
    return np.asarray(p / p.sum())


def expectation(logits: np.ndarray, reward_table: np.ndarray) -> np.ndarray:
    """Unbiased: the exact gradient p * (R - p.R), in float64."""
    p = _probs(logits)
    r = np.asarray(reward_table, dtype=np.float64)
    return np.asarray(p * (r - p @ r))


def _remainder(logits: np.ndarray, n_exact: int) -> np.ndarray:
    """True where a category is sampled, not summed: all but the n_exact largest logits (ties
    to the lower index, as jax.lax.top_k)."""
    order = np.argsort(-np.asarray(logits, dtype=np.float64), kind="stable")
    rest = np.ones(len(order), dtype=bool)
    rest[order[:int(n_exact)]] = False
    return rest


def variance(logits: np.ndarray, reward_table: np.ndarray, n_samples: float,
             n_exact: int) -> np.ndarray:
    """Per-component variance of the estimate: q^2 / n times the variance of one term
    R(a) (onehot(a) - p) with a drawn from the remainder renormalised, q its mass."""
    p = _probs(logits)
    r = np.asarray(reward_table, dtype=np.float64)
    rest = _remainder(logits, n_exact)
    q = p[rest].sum()
    if q == 0:
        return np.zeros_like(p)
    w = np.where(rest, p, 0.0) / q
    terms = r[:, None] * (np.eye(len(p)) - p)  # row a: R(a) (onehot(a) - p)
    mean = w @ terms
    return np.asarray(q**2 * (w @ terms**2 - mean**2) / int(n_samples))


def plain_reinforce(seed: float, logits: np.ndarray, reward_table: np.ndarray,
                    n_samples: float, n_exact: int) -> jax.Array:
    """REINFORCE with every category sampled (n_exact ignored), on the same seeds."""
    key = jax.random.PRNGKey(jnp.int32(seed))
    logits = jnp.asarray(logits, dtype=jnp.float32)
    actions = jax.random.categorical(key, logits, shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0], dtype=jnp.float32) - jax.nn.softmax(logits)
    return jnp.mean(jnp.asarray(reward_table, dtype=jnp.float32)[actions][:, None] * score, axis=0)
