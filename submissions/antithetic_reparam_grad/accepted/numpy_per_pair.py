import jax
import numpy as np


def antithetic_reparam_grad(seed, mu, log_sigma, n_pairs):
    eps = np.asarray(jax.random.normal(jax.random.PRNGKey(seed), (n_pairs, len(mu))),
                     dtype=np.float64)
    m, s = mu.astype(np.float64), np.exp(log_sigma.astype(np.float64))
    # A pair averages to exp(mu) cosh(s eps) and s eps exp(mu) sinh(s eps).
    g_mu = np.exp(m) * np.cosh(s * eps)
    g_ls = s * eps * np.exp(m) * np.sinh(s * eps)
    return np.stack([g_mu.mean(axis=0), g_ls.mean(axis=0)]).astype(np.float32)
