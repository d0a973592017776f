import numpy as np


def gae_advantages(rewards, values, dones, gamma, lam):
    adv = np.zeros(len(rewards), dtype=np.float32)
    a = 0.0
    for t in reversed(range(len(rewards))):
        keep = 1.0 - dones[t]
        delta = rewards[t] + gamma * keep * values[t + 1] - values[t]
        # Pitfall: the running advantage is not reset at an episode end, so the next
        # episode's TD errors keep flowing back into this one.
        a = delta + gamma * lam * a
        adv[t] = a
    return adv
