import jax
import jax.numpy as jnp
import numpy as np


def policy_gradient_rtg(theta, states, actions, rewards, dones, gamma):
    # Split the buffer into episodes, sum each one's surrogate, and average the gradients.
    ends = [t for t in range(len(rewards)) if dones[t] or t == len(rewards) - 1]
    starts = [0] + [e + 1 for e in ends[:-1]]

    def episode_surrogate(th, lo, hi):
        total, g = 0.0, 0.0
        rtg = []
        for t in reversed(range(lo, hi + 1)):
            g = rewards[t] + gamma * g
            rtg.append(g)
        rtg = rtg[::-1]
        for i, t in enumerate(range(lo, hi + 1)):
            total = total + jax.nn.log_softmax(th[states[t]])[actions[t]] * rtg[i]
        return total

    grads = [jax.grad(episode_surrogate)(jnp.asarray(theta), lo, hi)
             for lo, hi in zip(starts, ends)]
    return np.asarray(sum(grads) / len(grads), dtype=np.float32)
