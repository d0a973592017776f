import jax


def gumbel_softmax_sample(seed, logits, tau, n_samples):
    g = jax.random.gumbel(jax.random.PRNGKey(seed), (n_samples, logits.shape[0]))
    # Tempers the logits, then adds unscaled noise.
    return jax.nn.softmax(logits / tau + g, axis=-1)
