import numpy as np


def discounted_returns(rewards, dones, gamma):
    out = np.zeros(len(rewards), dtype=np.float64)
    g = 0.0
    for t in reversed(range(len(rewards))):
        if dones[t]:
            g = 0.0  # step t ends its episode: nothing after it counts
        g = float(rewards[t]) + gamma * g
        out[t] = g
    return out.astype(np.float32)
