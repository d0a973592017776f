import numpy as np


def discounted_returns(rewards, dones, gamma):
    out = np.zeros(len(rewards), dtype=np.float32)
    g = 0.0
    for t in reversed(range(len(rewards))):
        g = rewards[t] + gamma * g
        out[t] = g
        # Pitfall: the reset comes after step t is written, so it cuts the episode one step
        # early (step t - 1 loses step t's reward) and step t keeps the next episode's.
        if dones[t]:
            g = 0.0
    return out
