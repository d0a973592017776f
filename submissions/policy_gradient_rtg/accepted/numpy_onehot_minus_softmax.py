import numpy as np


def policy_gradient_rtg(theta, states, actions, rewards, dones, gamma):
    T = len(rewards)
    returns = np.zeros(T)
    g = 0.0
    for t in reversed(range(T)):
        g = float(rewards[t]) + gamma * (1.0 - float(dones[t])) * g
        returns[t] = g
    episodes = 1 + int(np.sum(dones[:-1]))
    theta = theta.astype(np.float64)
    grad = np.zeros_like(theta)
    for t in range(T):
        s, a = int(states[t]), int(actions[t])
        p = np.exp(theta[s] - theta[s].max())
        p /= p.sum()
        score = -p  # d log softmax(theta[s])[a] / d theta[s] = onehot(a) - softmax(theta[s])
        score[a] += 1.0
        grad[s] += returns[t] * score
    return (grad / episodes).astype(np.float32)
