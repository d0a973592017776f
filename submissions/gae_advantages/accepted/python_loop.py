import numpy as np


def gae_advantages(rewards, values, dones, gamma, lam):
    T = len(rewards)
    adv = np.zeros(T, dtype=np.float64)
    a = 0.0
    for t in reversed(range(T)):
        if dones[t]:
            # Step t ends its episode: no bootstrap from values[t + 1], no later advantage.
            delta = float(rewards[t]) - float(values[t])
            a = delta
        else:
            delta = float(rewards[t]) + gamma * float(values[t + 1]) - float(values[t])
            a = delta + gamma * lam * a
        adv[t] = a
    return adv.astype(np.float32)
