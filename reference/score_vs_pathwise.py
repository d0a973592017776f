"""Reference score-function and pathwise estimators of grad_mu E[sum x^2], x ~ N(mu, sigma^2)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _draw(seed: float, mu: np.ndarray, sigma: np.ndarray,
          n_samples: float) -> tuple[jax.Array, jax.Array]:
    mu = jnp.asarray(mu, dtype=jnp.float32)
    sigma = jnp.asarray(sigma, dtype=jnp.float32)
    eps = jax.random.normal(jax.random.PRNGKey(jnp.int32(seed)), (int(n_samples), mu.shape[0]))
    return mu + sigma * eps, eps


def score_grad(seed: float, mu: np.ndarray, sigma: np.ndarray, n_samples: float) -> jax.Array:
    """REINFORCE: the mean of f(x) * grad_mu log q(x), and grad_mu log q(x) = (x - mu) / sigma^2."""
    x, _ = _draw(seed, mu, sigma, n_samples)
    f = jnp.sum(x**2, axis=1, keepdims=True)
    return jnp.mean(f * (x - jnp.asarray(mu)) / jnp.asarray(sigma) ** 2, axis=0)


def pathwise_grad(seed: float, mu: np.ndarray, sigma: np.ndarray,
                  n_samples: float) -> jax.Array:
    """Reparameterisation: x = mu + sigma * eps, so grad_mu f(x) = f'(x) * dx/dmu = 2x."""
    x, _ = _draw(seed, mu, sigma, n_samples)
    return jnp.mean(2.0 * x, axis=0)


def exact_grad(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """E[sum x^2] = sum (mu^2 + sigma^2), so its gradient in mu is 2 mu."""
    return 2.0 * np.asarray(mu, dtype=np.float64)


def pathwise_variance(mu: np.ndarray, sigma: np.ndarray, n_samples: float) -> np.ndarray:
    """Per-component variance of the n-sample pathwise estimate: Var 2x_d = 4 sigma_d^2."""
    return 4.0 * np.asarray(sigma, dtype=np.float64) ** 2 / int(n_samples)


def score_variance(mu: np.ndarray, sigma: np.ndarray, n_samples: float) -> np.ndarray:
    """Per-component variance of the n-sample score estimate, g_d = f(x) eps_d / sigma_d.

    With f = A + x_d^2 (A the other components' squares, independent of eps_d) and Gaussian
    moments E[x^2 eps^2] = m^2 + 3 s^2, E[x^4 eps^2] = m^4 + 18 m^2 s^2 + 15 s^4,
    Var x^2 = 4 m^2 s^2 + 2 s^4: E[g_d^2] = (E[A^2] + 2 E[A] E[x_d^2 eps_d^2]
    + E[x_d^4 eps_d^2]) / s_d^2, and E[g_d] = 2 m_d."""
    m = np.asarray(mu, dtype=np.float64)
    s = np.asarray(sigma, dtype=np.float64)
    mean_sq, var_sq = m**2 + s**2, 4 * m**2 * s**2 + 2 * s**4
    a_mean = mean_sq.sum() - mean_sq
    a_second = var_sq.sum() - var_sq + a_mean**2
    second = (a_second + 2 * a_mean * (m**2 + 3 * s**2)
              + m**4 + 18 * m**2 * s**2 + 15 * s**4) / s**2
    return np.asarray((second - 4 * m**2) / int(n_samples))
