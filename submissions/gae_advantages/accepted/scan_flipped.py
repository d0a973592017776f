import jax
import jax.numpy as jnp


def gae_advantages(rewards, values, dones, gamma, lam):
    nonterminal = 1.0 - dones
    deltas = rewards + gamma * values[1:] * nonterminal - values[:-1]

    # Scan forward over the reversed steps, then flip the advantages back.
    def step(carry, x):
        delta, nt = x
        carry = delta + gamma * lam * nt * carry
        return carry, carry

    _, adv = jax.lax.scan(step, 0.0, (deltas[::-1], nonterminal[::-1]))
    return jnp.asarray(adv[::-1], dtype=jnp.float32)
