import numpy as np


def discounted_returns(rewards, dones, gamma):
    out = np.zeros(len(rewards), dtype=np.float32)
    g = 0.0
    # Pitfall: accumulating forward in time sums the *past* rewards of the episode.
    for t in range(len(rewards)):
        g = rewards[t] + gamma * g
        out[t] = g
        if dones[t]:
            g = 0.0
    return out
