import jax
import jax.numpy as jnp


def per_example_grads(w, x, y):
    margin = y * (x @ w)
    # Pitfall: d/dm log(1 + exp(-m)) is -sigmoid(-m); the minus from the inner -m is lost.
    return (y * jax.nn.sigmoid(-margin))[:, None] * x
