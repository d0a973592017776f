"""Statistical checks: the submission on many seeds, judged by z-tests, variance ratios, invariants.

A Monte-Carlo estimator is right when its distribution is right, whatever samples it draws: these
checks accept any correct way of sampling and reject biased or mis-scaled estimators that a fixed
tolerance could miss.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import numpy as np

from grader.data.cache import BASELINES, args_bytes, cached_arrays
from grader.errors import ReferenceSolutionError
from grader.model.checks import (
    MeanCheck,
    NonNegativeCheck,
    StatisticalCheck,
    SumCheck,
    SumZeroCheck,
    VarianceCheck,
)
from grader.model.compare import scale_of
from grader.model.inputs import InputError, Value, bind_dims, call_args, coerce, expected_leaves
from grader.model.problems import Problem
from grader.model.spec import KeyParam, ProblemSpec
from grader.model.values import trusted_output
from grader.verdict import Verdict

# Probability that a correct estimator fails any mean test of a problem (Bonferroni over every
# output component of every mean_z check).
FALSE_FAIL = 1e-6
# Float32 rounding is no learner's mistake: a mean within this fraction of the expectation's
# largest component passes however small the standard error is.
RESOLUTION = 1e-5


def fixed_args(spec: ProblemSpec, check: StatisticalCheck) -> dict[str, Value]:
    """The check's inputs without the seed, with the declared dtypes."""
    out = {}
    for p in spec.entry(check.call).params:
        if p.name != check.seed_param:
            try:
                out[p.name] = coerce(p, check.args[p.name])
            except InputError as exc:
                raise InputError(f"statistics.{check.name}: {exc}") from exc
    return out


def check_calls(spec: ProblemSpec, check: StatisticalCheck,
                count: int | None = None) -> list[dict[str, Value]]:
    """One call per seed: seed_offset, seed_offset + 1, ... (the first `count` of them)."""
    base = fixed_args(spec, check)
    seed = spec.entry(check.call).param(check.seed_param)
    return [{**base, check.seed_param: coerce(seed, check.seed_offset + i)}
            for i in range(check.seeds if count is None else count)]


def output_shape(spec: ProblemSpec, check: StatisticalCheck) -> tuple[int, ...]:
    """The shape of what the check judges: the return, or its leaf `output`."""
    first = check_calls(spec, check, count=1)[0]
    leaves = expected_leaves(fn := spec.entry(check.call), bind_dims(fn, first))
    return next(shape for path, _, shape in leaves if path == (check.output or ""))


def z_threshold(spec: ProblemSpec) -> float:
    """|z| above which a mean test fails: two-sided, FALSE_FAIL split over all components."""
    m = sum(math.prod(output_shape(spec, c)) for c in spec.statistics
            if isinstance(c, MeanCheck))
    return NormalDist().inv_cdf(1 - FALSE_FAIL / (2 * max(m, 1)))


def t_threshold(z: float, df: int) -> float:
    """Student-t quantile matching normal quantile z (Cornish-Fisher, Abramowitz-Stegun 26.7.5).

    With the standard error taken from the sample, the statistic is t- not normal-distributed.
    """
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return float(z + g1 / df + g2 / df**2 + g3 / df**3)


def _call(fn: Callable[..., Any], args: dict[str, Value], spec: ProblemSpec | None = None,
          leaf: str | None = None, given: dict[str, Callable[..., Any]] | None = None,
          call: str | None = None) -> np.ndarray:
    """Calls a reference helper with the subset of the inputs its signature names; with
    `spec`, a function of the signature of entry `call` whose leaf `leaf` is kept; `given`:
    the problem's given functions, which callable arguments name."""
    wanted = inspect.signature(fn).parameters
    out = fn(**call_args({k: v for k, v in args.items() if k in wanted}, given))
    if spec is not None and spec.entry(call).structured:
        flat = trusted_output(spec.entry(call), out)
        assert isinstance(flat, dict)
        out = flat[leaf or ""]
    return np.asarray(out, dtype=np.float64)


# Jitted, seed-vmapped trusted helpers, by (helper, inputs without the seed): a check's seeds at
# another offset (calibration, a new seed_offset) reuse the compiled function.
_BATCHED: dict[tuple[Any, ...], Callable[[Any], Any]] = {}


def trusted_samples(fn: Callable[..., Any], spec: ProblemSpec, check: StatisticalCheck,
                    leaf: str | None = None,
                    given: dict[str, Callable[..., Any]] | None = None) -> np.ndarray:
    """Trusted `fn` of the problem's signature on every seed of the check, stacked on a first
    axis. A helper that traces runs as one jitted vmap over the seeds: seed by seed, a few
    hundred eager calls cost seconds per check. One that does not trace (NumPy, Python control
    flow on a value), or a structured return, runs seed by seed. `given`: the problem's given
    functions, which callable arguments name."""
    calls = check_calls(spec, check)
    seeds = [int(c[check.seed_param]) for c in calls]
    if not spec.entry(check.call).structured and seeds and max(seeds) < 2**31:
        try:
            batched = _batched(fn, spec, check, given)
            return np.asarray(batched(np.asarray(seeds, dtype=np.int32)), dtype=np.float64)
        except Exception:  # any failure to trace means: call it seed by seed
            pass
    return np.stack([_call(fn, a, spec, leaf, given, check.call) for a in calls])


def _batched(fn: Callable[..., Any], spec: ProblemSpec, check: StatisticalCheck,
             given: dict[str, Callable[..., Any]] | None) -> Callable[[Any], Any]:
    base = fixed_args(spec, check)
    key = (fn, check.seed_param, args_bytes(base), tuple(sorted((given or {}).items())))
    if key not in _BATCHED:
        import jax

        wanted = inspect.signature(fn).parameters
        fixed = call_args({k: v for k, v in base.items() if k in wanted}, given)
        as_key = isinstance(spec.entry(check.call).param(check.seed_param), KeyParam)

        def one(seed: Any) -> Any:
            return fn(**fixed, **{check.seed_param: jax.random.key(seed) if as_key else seed})

        if len(_BATCHED) >= 64:  # a long-lived grader reloads problems: keep the newest
            del _BATCHED[next(iter(_BATCHED))]
        _BATCHED[key] = jax.jit(jax.vmap(one))
    return _BATCHED[key]


def _helper(problem: Problem, name: str) -> Callable[..., Any]:
    fn = getattr(problem.reference_module, name, None)
    if not callable(fn):
        raise ReferenceSolutionError(f"{problem.reference_path}: defines no function {name!r}, "
                             "which the spec's statistics name")
    return fn  # type: ignore[no-any-return]


def trusted_data(problem: Problem, check: StatisticalCheck) -> dict[str, np.ndarray]:
    """What the check compares against, computed by trusted code and cached."""
    spec = problem.spec

    def compute() -> dict[str, np.ndarray]:
        args = fixed_args(spec, check)
        given = problem.given_functions
        out: dict[str, np.ndarray] = {}
        if isinstance(check, MeanCheck):
            out["expectation"] = _call(_helper(problem, check.expectation), args, given=given)
            if check.variance is not None:
                out["variance"] = _call(_helper(problem, check.variance), args, given=given)
        elif isinstance(check, VarianceCheck):
            if check.variance is not None:
                total = float(_call(_helper(problem, check.variance), args, given=given).sum())
            else:
                fn = _helper(problem, check.against or spec.entry(check.call).name)
                samples = trusted_samples(fn, spec, check, check.output, given)
                total = float(samples.var(axis=0, ddof=1).sum())
            if not total > 0:
                raise ReferenceSolutionError(
                    f"{problem.reference_path}: the trusted estimator has no "
                    f"variance on statistics {check.name!r}")
            out["against_variance"] = np.asarray(total)
        return out

    # The check's own inputs as materialised, beside the problem's tests the key already covers.
    return cached_arrays(BASELINES, problem, check.name, None, compute,
                         check.model_dump_json().encode(), args_bytes(fixed_args(spec, check)))


def evaluate(problem: Problem, check: StatisticalCheck, outs: list[np.ndarray],
             trusted: dict[str, np.ndarray], z_star: float) -> tuple[Verdict, str]:
    """Judges one check from the submission's outputs, one per seed."""
    want = output_shape(problem.spec, check)
    for seed, o in enumerate(outs):
        if o.shape != want:
            return Verdict.WRONG_ANSWER, (f"seed {check.seed_offset + seed}: returned shape "
                                          f"{o.shape}, expected {want}")
    x = np.stack(outs).astype(np.float64) if outs else np.zeros((0, *want))
    if not np.all(np.isfinite(x)):
        return Verdict.WRONG_ANSWER, "some calls returned NaN or Inf"
    if isinstance(check, MeanCheck):
        return _mean(check, x, trusted, z_star)
    if isinstance(check, VarianceCheck):
        return _variance(check, x, float(trusted["against_variance"]))
    if isinstance(check, NonNegativeCheck):
        return _nonnegative(check, x)
    return _sum_zero(check, x, problem.spec)


def _fmt(values: np.ndarray) -> str:
    return np.array2string(values, precision=2, separator=", ", max_line_width=200)


def mean_stats(x: np.ndarray, trusted: dict[str, np.ndarray],
               z_star: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, str]:
    """mean_z over `x` (seeds first): exact mean, its standard error, z, threshold, source."""
    s = x.shape[0]
    mu = trusted["expectation"]
    if "variance" in trusted:
        se = np.sqrt(np.maximum(trusted["variance"], 0.0) / s)
        threshold, source = z_star, "exact variance"
    else:
        se = x.std(axis=0, ddof=1) / math.sqrt(s)
        threshold, source = t_threshold(z_star, s - 1), "sample variance"
    se = np.hypot(se, RESOLUTION * max(float(np.abs(mu).max(initial=0.0)), 1e-12))
    return mu, se, (x.mean(axis=0) - mu) / se, threshold, source


def _mean(check: MeanCheck, x: np.ndarray, trusted: dict[str, np.ndarray],
          z_star: float) -> tuple[Verdict, str]:
    mu, _, z, threshold, source = mean_stats(x, trusted, z_star)
    worst = np.unravel_index(int(np.argmax(np.abs(z))), z.shape)
    zmax = float(np.abs(z)[worst])
    shown = f"; z per component {_fmt(z)}" if z.size <= 8 else ""
    text = (f"mean over {x.shape[0]} seeds vs the exact expectation: largest |z| = {zmax:.2f} "
            f"at index {tuple(int(i) for i in worst)} (threshold {threshold:.2f}, {source}){shown}")
    if zmax <= threshold:
        return Verdict.ACCEPTED, text
    return Verdict.WRONG_ANSWER, (
        f"{text}. Your estimator is biased: its average over many seeds converges to "
        f"{_fmt(x.mean(axis=0))}, the true gradient is {_fmt(mu)}")


def _variance(check: VarianceCheck, x: np.ndarray, against: float) -> tuple[Verdict, str]:
    total = float(x.var(axis=0, ddof=1).sum())
    ratio = total / against
    upper = f"{check.max_ratio:.3g}" if check.max_ratio is not None else "∞"
    whose = ("the exact variance" if check.variance is not None
             else f"{check.against or 'the reference solution'}'s")
    text = (f"total variance over {x.shape[0]} seeds {total:.4g}, {whose} {against:.4g}: "
            f"ratio {ratio:.3g} (allowed [{check.min_ratio:.3g}, {upper}])")
    if ratio < check.min_ratio:
        return Verdict.WRONG_ANSWER, (f"{text}. Your estimate varies too little across seeds: "
                                      "is it an exact gradient, or does it ignore the seed?")
    if check.max_ratio is not None and ratio > check.max_ratio:
        return Verdict.WRONG_ANSWER, f"{text}. Your estimate varies too much across seeds"
    return Verdict.ACCEPTED, text


def sum_deviations(check: SumZeroCheck | SumCheck, x: np.ndarray,
                   spec: ProblemSpec) -> tuple[np.ndarray, float] | str:
    """Per seed, the largest |sum - target| of an invariant_sum(_zero) check, and what it
    allows; or why the output cannot be summed as the check says."""
    target, axis = (check.target, check.axis) if isinstance(check, SumCheck) else (0.0, None)
    if axis is None:
        sums = np.abs(x.reshape(x.shape[0], -1).sum(axis=1) - target)
    else:
        if not -x.ndim + 1 <= axis < x.ndim - 1:
            return f"the output has {x.ndim - 1} dims: no axis {axis} to sum along"
        along = axis if axis < 0 else axis + 1
        dev = np.abs(x.sum(axis=along) - target)
        sums = dev.reshape(x.shape[0], -1).max(axis=1, initial=0.0)
    allowed = check.atol + (check.atol_per_scale * scale_of(check.scale, dict(fixed_args(
        spec, check))) if check.scale is not None else 0.0)
    return sums, allowed


def _sum_zero(check: SumZeroCheck | SumCheck, x: np.ndarray,
              spec: ProblemSpec) -> tuple[Verdict, str]:
    """Every call's output sums to the target (0 for invariant_sum_zero): sum_deviations."""
    target, axis = (check.target, check.axis) if isinstance(check, SumCheck) else (0.0, None)
    if isinstance(found := sum_deviations(check, x, spec), str):
        return Verdict.WRONG_ANSWER, found
    sums, allowed = found
    worst = int(np.argmax(sums)) if sums.size else 0
    what = "components" if axis is None else f"components along axis {axis}"
    text = (f"largest |sum of {what} - {target:g}| over {x.shape[0]} seeds: "
            f"{float(sums.max(initial=0.0)):.3g} (allowed {allowed:.3g})")
    if sums.size == 0 or sums[worst] <= allowed:
        return Verdict.ACCEPTED, text
    return Verdict.WRONG_ANSWER, (f"{text}, at seed {check.seed_offset + worst}. A correct "
                                  f"output's {what} sum to {target:g}; yours do not")


def _nonnegative(check: NonNegativeCheck, x: np.ndarray) -> tuple[Verdict, str]:
    lowest = x.reshape(x.shape[0], -1).min(axis=1, initial=np.inf)
    worst = int(np.argmin(lowest)) if lowest.size else 0
    low = float(lowest.min(initial=np.inf)) if lowest.size else 0.0
    text = f"smallest component over {x.shape[0]} seeds: {low:.3g} (allowed >= {-check.atol:.3g})"
    if lowest.size == 0 or low >= -check.atol:
        return Verdict.ACCEPTED, text
    return Verdict.WRONG_ANSWER, (f"{text}, at seed {check.seed_offset + worst}. A correct "
                                  "output is never negative; yours is")
