import numpy as np


# Correct arithmetic, but the step reads the count as a Python int (int(state["count"])) and
# computes in NumPy: under jax.jit the count is a tracer with no value yet, so the step cannot
# trace and a training loop could never compile it.
def adam_init(params):
    return {"m": {k: np.zeros_like(p) for k, p in params.items()},
            "v": {k: np.zeros_like(p) for k, p in params.items()},
            "count": np.zeros((), dtype=np.int32)}


def adam_step(params, grads, state, lr, b1, b2, eps):
    t = int(state["count"]) + 1
    new_params, new_m, new_v = {}, {}, {}
    for k in params:
        g = np.asarray(grads[k], dtype=np.float64)
        m = b1 * np.asarray(state["m"][k]) + (1 - b1) * g
        v = b2 * np.asarray(state["v"][k]) + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        new_params[k] = (params[k] - lr * m_hat / (np.sqrt(v_hat) + eps)).astype(np.float32)
        new_m[k] = m.astype(np.float32)
        new_v[k] = v.astype(np.float32)
    return new_params, {"m": new_m, "v": new_v, "count": np.asarray(t, dtype=np.int32)}
