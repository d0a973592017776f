import numpy as np


def gae_advantages(rewards, values, dones, gamma, lam):
    adv = np.zeros(len(rewards), dtype=np.float32)
    a = 0.0
    for t in reversed(range(len(rewards))):
        keep = 1.0 - dones[t]
        # Pitfall: lambda discounts the bootstrap value inside the TD error too; the TD error
        # is r_t + gamma * V_{t+1} - V_t, and lambda weighs only the later advantages.
        delta = rewards[t] + gamma * lam * keep * values[t + 1] - values[t]
        a = delta + gamma * lam * keep * a
        adv[t] = a
    return adv
