"""What a visible statistical check's picture needs, kept in its report: few numbers, bounded.

A mean_z check keeps, for at most COMPONENTS output components (the farthest from the exact
mean first), the exact mean, the spread of one call, the mean over seeds with its standard
error and the first SAMPLE per-seed values; a variance_ratio check its two variances and the
allowed band; an invariant the first SAMPLE per-seed sums (or smallest components) and the
worst seed's. Hidden checks get none (the judge never asks): every number here is output of
the learner's code on the check's inputs. `alt_text` says in words what the picture shows; the
web layer draws it (grader/service/web/plots.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from grader.judging.statistics import mean_stats, output_shape, sum_deviations
from grader.model.checks import (
    MeanCheck,
    NonNegativeCheck,
    StatisticalCheck,
    SumCheck,
    SumZeroCheck,
    VarianceCheck,
)
from grader.model.problems import Problem

COMPONENTS = 4  # a mean_z picture's panels at most
SAMPLE = 60  # per-seed values kept per component (mean_z) or per check (an invariant)


def _num(value: Any) -> float:
    """A number as the report keeps it: 4 significant figures (a picture needs no more)."""
    return float(f"{float(value):.4g}")


def _nums(values: np.ndarray) -> list[float]:
    return [_num(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def picture(problem: Problem, check: StatisticalCheck, outs: list[np.ndarray],
            trusted: dict[str, np.ndarray], z_star: float) -> dict[str, Any] | None:
    """A visible check's picture data, or None when its outputs cannot be judged as numbers
    (a wrong shape, NaN or Inf: the message says which)."""
    want = output_shape(problem.spec, check)
    if not outs or any(o.shape != want for o in outs):
        return None
    x = np.stack(outs).astype(np.float64)
    if not np.all(np.isfinite(x)):
        return None
    seeds = x.shape[0]
    if isinstance(check, MeanCheck):
        mu, se, z, threshold, _ = mean_stats(x, trusted, z_star)
        exact = "variance" in trusted
        sd = (np.sqrt(np.maximum(trusted["variance"], 0.0)) if exact
              else x.std(axis=0, ddof=1))
        order = np.argsort(-np.abs(z).ravel(), kind="stable")[:COMPONENTS]
        flat = x.reshape(seeds, -1)
        return {"kind": "mean_z", "seeds": seeds, "threshold": _num(threshold),
                "spread": "exact" if exact else "sample", "components": [
                    {"index": [int(i) for i in np.unravel_index(int(k), mu.shape)],
                     "exact": _num(mu.ravel()[k]), "sd": _num(np.ravel(sd)[k]),
                     "mean": _num(flat[:, k].mean()), "se": _num(np.ravel(se)[k]),
                     "z": _num(z.ravel()[k]), "values": _nums(flat[:SAMPLE, k])}
                    for k in order]}
    if isinstance(check, VarianceCheck):
        return {"kind": "variance_ratio", "seeds": seeds,
                "yours": _num(x.var(axis=0, ddof=1).sum()),
                "reference": _num(trusted["against_variance"]),
                "exact": check.variance is not None, "min_ratio": _num(check.min_ratio),
                "max_ratio": None if check.max_ratio is None else _num(check.max_ratio)}
    if isinstance(check, NonNegativeCheck):
        values, allowed, below = x.reshape(seeds, -1).min(axis=1), -check.atol, True
    else:
        assert isinstance(check, SumZeroCheck | SumCheck)
        found = sum_deviations(check, x, problem.spec)
        if isinstance(found, str):
            return None
        (values, allowed), below = found, False
    worst = int(np.argmin(values) if below else np.argmax(values))
    return {"kind": check.kind, "seeds": seeds, "allowed": _num(allowed), "below": below,
            "values": _nums(values[:SAMPLE]),
            "worst": [check.seed_offset + worst, _num(values[worst])]}


def component(index: list[int]) -> str:
    """Which component a panel shows, as the check's message names it: `component (2,)`."""
    if not index:
        return "the output"
    return "component (" + ", ".join(str(int(i)) for i in index) + \
        ("," if len(index) == 1 else "") + ")"


def alt_text(plot: dict[str, Any]) -> str:
    """The picture in words, built from its numbers only (no text the learner controls)."""
    kind, seeds = plot["kind"], int(plot["seeds"])
    if kind == "mean_z":
        parts = [f"{component(c['index'])}: the mean of your estimates "
                 f"{float(c['mean']):.4g} is {abs(float(c['z'])):.1f} standard errors "
                 f"{'above' if float(c['z']) > 0 else 'below'} the exact value "
                 f"{float(c['exact']):.4g}" for c in plot["components"]]
        band = ("" if plot["spread"] == "exact" else " (with no exact variance, the band is "
                "your own estimates' spread)")
        return (f"Your estimates on {seeds} seeds against the exact mean{band}, "
                f"{float(plot['threshold']):.2f} standard errors allowed; "
                + "; ".join(parts) + ".")
    if kind == "variance_ratio":
        ratio = float(plot["yours"]) / float(plot["reference"])
        upper = "no upper bound" if plot["max_ratio"] is None else \
            f"at most {float(plot['max_ratio']):.3g}"
        whose = "the exact variance" if plot["exact"] else "the reference's"
        return (f"Total variance of your estimates on {seeds} seeds {float(plot['yours']):.4g}, "
                f"{whose} {float(plot['reference']):.4g}: ratio {ratio:.3g}, allowed at least "
                f"{float(plot['min_ratio']):.3g} and {upper}.")
    values = [float(v) for v in plot["values"]]
    allowed = float(plot["allowed"])
    out = sum(v < allowed if plot["below"] else v > allowed for v in values)
    what = ("the smallest component of your output" if plot["below"]
            else "how far your output's sum is from its target")
    worst = plot["worst"]
    return (f"Per seed, {what}, for the first {len(values)} of {seeds} "
            f"seeds, {out} of them outside the allowed {allowed:.3g}; the worst of all "
            f"{seeds} seeds is seed {int(worst[0])} with {float(worst[1]):.3g}.")


def finite(plot: Any) -> bool:
    """A stored plot is numbers where numbers belong (a report is read back from the
    database: the picture is drawn only from what passes)."""
    def nums(*values: Any) -> bool:
        return all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                   for v in values)
    try:
        kind = plot["kind"]
        if kind == "mean_z":
            return nums(plot["seeds"], plot["threshold"]) and all(
                nums(c["exact"], c["sd"], c["mean"], c["se"], c["z"], *c["values"], *c["index"])
                for c in plot["components"]) and plot["spread"] in ("exact", "sample")
        if kind == "variance_ratio":
            return nums(plot["seeds"], plot["yours"], plot["reference"], plot["min_ratio"],
                        *([] if plot["max_ratio"] is None else [plot["max_ratio"]])) \
                and float(plot["reference"]) > 0 and isinstance(plot["exact"], bool)
        return kind in ("invariant_sum", "invariant_sum_zero", "invariant_nonnegative") and \
            nums(plot["seeds"], plot["allowed"], *plot["values"], *plot["worst"]) and \
            len(plot["worst"]) == 2 and isinstance(plot["below"], bool)
    except (KeyError, TypeError):
        return False
