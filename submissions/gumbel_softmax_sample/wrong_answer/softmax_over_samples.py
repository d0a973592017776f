import jax


def gumbel_softmax_sample(seed, logits, tau, n_samples):
    g = jax.random.gumbel(jax.random.PRNGKey(seed), (n_samples, logits.shape[0]))
    return jax.nn.softmax((logits + g) / tau, axis=0)
