import jax
import jax.numpy as jnp


def per_example_grads(w, x, y):
    def loss(w, xi, yi):
        return jnp.log1p(jnp.exp(-yi * (xi @ w)))

    return jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(w, x, y)
