import numpy as np


def policy_gradient_rtg(theta, states, actions, rewards, dones, gamma):
    T = len(rewards)
    returns = np.zeros(T, dtype=np.float32)
    g = 0.0
    for t in reversed(range(T)):
        g = rewards[t] + gamma * (1.0 - dones[t]) * g
        returns[t] = g
    episodes = 1 + int(np.sum(dones[:-1]))
    grad = np.zeros(theta.shape, dtype=np.float32)
    for t in range(T):
        # Pitfall: the score of theta[s, a] itself (a one-hot), forgetting that log softmax
        # also subtracts log sum exp(theta[s]), whose gradient is -softmax(theta[s]).
        grad[states[t], actions[t]] += returns[t]
    return grad / episodes
