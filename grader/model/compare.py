"""Pure-numpy comparison of one returned array with the expected one, within tolerance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from grader.model.spec import Tolerance
from grader.model.strict import Scale
from grader.verdict import Verdict


@dataclass(frozen=True)
class Comparison:
    verdict: Verdict
    message: str
    max_abs_diff: float | None = None
    max_rel_diff: float | None = None
    details: tuple[str, ...] = ()
    ratio: float | None = None  # largest diff as a fraction of its allowance: >1 fails
    summary: str = ""  # the message without values or indices, for a hidden test


def scale_of(scale: Scale | None, args: Mapping[str, object]) -> float:
    if scale is None or scale.arg not in args:  # an entry of `functions` without it: atol
        return 0.0
    x = np.abs(np.asarray(args[scale.arg], dtype=np.float64))
    if x.size == 0:
        return 0.0
    reduce = scale.reduce
    return float(x.max() if reduce == "max_abs" else np.sqrt((x**2).sum()) if reduce == "l2"
                 else x.mean())


def shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    if len(got) == len(want) + 1 and got[1:] == want:
        return " — did you forget to average over samples?"
    if len(got) == len(want) + 1 and got[:-1] == want:
        return " — one value per element, not a vector each?"
    if got == () and want:
        return " — did you reduce over the wrong axis?"
    return ""


def compare(got: np.ndarray, want: np.ndarray, want_dtype: str, tol: Tolerance,
            args: dict[str, object]) -> Comparison:
    if got.shape != want.shape:
        return Comparison(Verdict.WRONG_ANSWER, f"returned shape {got.shape}, expected "
                          f"{want.shape}{shape_hint(got.shape, want.shape)}",
                          summary="returned an array of the wrong shape")
    if got.dtype != np.dtype(want_dtype):
        message = (f"returned dtype {got.dtype}, expected {want_dtype} "
                   f"(cast with .astype(jnp.{want_dtype}))")
        return Comparison(Verdict.WRONG_ANSWER, message, summary=message)
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    n_nan, n_inf = int(np.isnan(g).sum()), int(np.isinf(g).sum())
    if n_nan or n_inf:
        return Comparison(Verdict.WRONG_ANSWER,
                          f"output has {n_nan} NaN and {n_inf} Inf values",
                          summary="output has NaN or Inf values")
    diff = np.abs(g - w)
    allowed = tol.atol + tol.atol_per_scale * scale_of(tol.scale, args) + tol.rtol * np.abs(w)
    # Finite even where the expected value is 0, so the JSON report stays valid JSON.
    with np.errstate(invalid="ignore"):  # a known-wrong example's Inf, in feedback
        rel = diff / np.maximum(np.abs(w), 1e-12)
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float(rel.max()) if rel.size else 0.0
    off = diff > allowed
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(diff == 0, 0.0, diff / allowed)
    ratio = float(frac.max()) if frac.size else 0.0
    if not off.any():
        return Comparison(Verdict.ACCEPTED, "", max_abs, max_rel, ratio=ratio)
    worst = np.unravel_index(int(np.argmax(diff - allowed)), diff.shape)
    idx = tuple(int(i) for i in worst)
    details = (f"worst element at index {idx}: got {g[worst]:.6g}, expected {w[worst]:.6g} "
               f"(allowed difference {allowed[worst]:.3g})",
               f"{int(off.sum())} of {off.size} elements are outside the tolerance")
    return Comparison(Verdict.WRONG_ANSWER, f"max abs diff {max_abs:.3g}, max rel diff "
                      f"{max_rel:.3g}", max_abs, max_rel, details, ratio,
                      "outside the tolerance")
