import numpy as np


def ppo_clip_objective(logp_new, logp_old, advantages, epsilon, reduction):
    ratio = np.exp(logp_new.astype(np.float64) - logp_old)
    adv = advantages.astype(np.float64)
    # For A >= 0 the minimum caps the ratio at 1 + eps; for A < 0 it floors it at 1 - eps.
    capped = np.where(adv >= 0, np.minimum(ratio, 1 + epsilon), np.maximum(ratio, 1 - epsilon))
    match reduction:
        case "mean":
            total = np.mean(capped * adv)
        case "sum":
            total = np.sum(capped * adv)
        case _:
            raise ValueError(f"unknown reduction {reduction!r}")
    return np.array([total], dtype=np.float32)
