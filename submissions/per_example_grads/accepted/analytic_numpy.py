import numpy as np


def per_example_grads(w, x, y):
    x64 = x.astype(np.float64)
    margin = y * (x64 @ w)
    # d/dw log(1 + exp(-m)) = -sigmoid(-m) * dm/dw, with dm/dw = y * x.
    coef = -y / (1.0 + np.exp(margin))
    return (coef[:, None] * x64).astype(np.float32)
