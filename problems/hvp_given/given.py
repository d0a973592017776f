"""The functions `hvp(f, x, v)` is called with in hvp_given: each takes a float32 vector x of
shape (D,) and returns a float32 scalar. A test names one of them; your code receives the
function itself as `f`, to differentiate with JAX like any function of your own."""

import jax.numpy as jnp
from jax.scipy.special import logsumexp


def quadratic(x):
    """0.5 * x . (A x) with A = 2 I plus ones just above the diagonal: A is not symmetric, so
    the Hessian is (A + A^T) / 2, the same at every x."""
    n = x.shape[0]
    a = 2.0 * jnp.eye(n, dtype=x.dtype) + jnp.eye(n, k=1, dtype=x.dtype)
    return 0.5 * jnp.dot(x, a @ x)


def rosenbrock(x):
    """Rosenbrock's valley in D dims: sum over i of 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2."""
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def log_sum_exp(x):
    """log(sum_i exp(x[i])), computed without overflow; its gradient is softmax(x)."""
    return logsumexp(x)
