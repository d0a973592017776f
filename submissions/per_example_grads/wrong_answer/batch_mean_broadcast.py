import jax
import jax.numpy as jnp


def per_example_grads(w, x, y):
    # Pitfall: the gradient of the batch-mean loss, copied to every row.
    def mean_loss(w):
        return jnp.mean(jnp.log1p(jnp.exp(-y * (x @ w))))

    g = jax.grad(mean_loss)(w)
    return jnp.broadcast_to(g, x.shape)
