import jax
import jax.numpy as jnp


@jax.custom_vjp
def _straight_through(y_soft):
    return jax.nn.one_hot(jnp.argmax(y_soft), y_soft.shape[0], dtype=y_soft.dtype)


def _fwd(y_soft):
    return _straight_through(y_soft), None


def _bwd(_, ct):
    # the identity: the one-hot's cotangent flows on to y_soft unchanged
    return (ct,)


_straight_through.defvjp(_fwd, _bwd)


def st_gumbel(key, logits, tau, hard):
    g = jax.random.gumbel(key, logits.shape)
    y_soft = jax.nn.softmax((logits + g) / tau)
    return _straight_through(y_soft) if hard else y_soft
