"""Reference IWAE bound and its reparameterisation gradient for z ~ N(0, I), x | z ~ N(z, I),
with the proposal q(z) = N(mu, diag(sigma)^2)."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

LOG_2PI = math.log(2.0 * math.pi)


def iwae_bound(seed: int, x: np.ndarray, mu: np.ndarray, log_sigma: np.ndarray,
               n_samples: int) -> tuple[jax.Array, jax.Array]:
    value, grads = _iwae_bound(seed, jnp.asarray(x, dtype=jnp.float32),
                               jnp.asarray(mu, dtype=jnp.float32),
                               jnp.asarray(log_sigma, dtype=jnp.float32), n_samples)
    return value, grads


@functools.partial(jax.jit, static_argnums=4)  # compiled once per K: the checks call it often
def _iwae_bound(seed: jax.Array, x: jax.Array, mu: jax.Array, log_sigma: jax.Array,
                n_samples: int) -> tuple[jax.Array, jax.Array]:
    eps = jax.random.normal(jax.random.PRNGKey(seed), (n_samples, x.shape[0]))

    def bound(m: jax.Array, ls: jax.Array) -> jax.Array:
        z = m + jnp.exp(ls) * eps
        log_lik = -0.5 * jnp.sum((x - z) ** 2, axis=1) - 0.5 * x.shape[0] * LOG_2PI
        log_prior = -0.5 * jnp.sum(z**2, axis=1) - 0.5 * x.shape[0] * LOG_2PI
        # log q(z) at z = m + sigma * eps; -sum(ls) is the Jacobian of the scaling.
        log_q = -0.5 * jnp.sum(eps**2, axis=1) - jnp.sum(ls) - 0.5 * x.shape[0] * LOG_2PI
        log_w = log_lik + log_prior - log_q
        return jax.nn.logsumexp(log_w) - jnp.log(float(n_samples))

    value, (g_mu, g_ls) = jax.value_and_grad(bound, argnums=(0, 1))(mu, log_sigma)
    return value, jnp.stack([g_mu, g_ls])


# Exact moments for the statistical checks. With one sample the bound is the ELBO:
# log w = c + sum_d [-(s_d^2 - 1/2) e_d^2 + s_d e_d (x_d - 2 mu_d)], e ~ N(0, I), so its mean
# and variance, and those of its gradients x - 2z and s e (x - 2 mu) - 2 s^2 e^2 + 1, are closed
# forms. When q is the posterior N(x/2, I/2) every weight equals p(x) = N(x; 0, 2I): the bound
# is log p(x) on every draw and its expected gradient is 0 (it is the maximum).

def _parts(x: np.ndarray, mu: np.ndarray,
           log_sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.asarray(x, dtype=np.float64), np.asarray(mu, dtype=np.float64),
            np.exp(2.0 * np.asarray(log_sigma, dtype=np.float64)))


def expected_value(x: np.ndarray, mu: np.ndarray, log_sigma: np.ndarray) -> np.ndarray:
    """The ELBO (n_samples = 1)."""
    x64, m, s2 = _parts(x, mu, log_sigma)
    return np.asarray(np.sum(-0.5 * (x64 - m) ** 2 - 0.5 * m**2 - s2 + 0.5 + 0.5 * np.log(s2)
                             - 0.5 * LOG_2PI))


def variance_value(x: np.ndarray, mu: np.ndarray, log_sigma: np.ndarray) -> np.ndarray:
    x64, m, s2 = _parts(x, mu, log_sigma)
    return np.asarray(np.sum(2.0 * (s2 - 0.5) ** 2 + s2 * (x64 - 2.0 * m) ** 2))


def expected_grads(x: np.ndarray, mu: np.ndarray, log_sigma: np.ndarray) -> np.ndarray:
    """The ELBO's gradient: x - 2 mu and 1 - 2 sigma^2."""
    x64, m, s2 = _parts(x, mu, log_sigma)
    return np.stack([x64 - 2.0 * m, 1.0 - 2.0 * s2])


def variance_grads(x: np.ndarray, mu: np.ndarray, log_sigma: np.ndarray) -> np.ndarray:
    x64, m, s2 = _parts(x, mu, log_sigma)
    return np.stack([4.0 * s2, s2 * (x64 - 2.0 * m) ** 2 + 8.0 * s2**2])


def log_evidence(x: np.ndarray) -> np.ndarray:
    """log p(x) = log N(x; 0, 2I): the bound's value when q is the posterior."""
    x64 = np.asarray(x, dtype=np.float64)
    return np.asarray(np.sum(-0.25 * x64**2 - 0.5 * math.log(4.0 * math.pi)))


def zero_grads(x: np.ndarray) -> np.ndarray:
    return np.zeros((2, np.asarray(x).shape[0]))


def posterior_variance_grads(x: np.ndarray, n_samples: int) -> np.ndarray:
    """At q = N(x/2, I/2) the weights are equal: the gradient averages -2 s e_k = -sqrt(2) e_k
    and 1 - e_k^2 over the K samples, variance 2 / K each."""
    return np.full((2, np.asarray(x).shape[0]), 2.0 / int(n_samples))
