"""Judging a function check's row: the learner's function under jit, vmap, jvp or vjp against the
reference under the same transform (grader.model.transforms has the spec, grader.data.transformed
the expected values)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from grader.judging.execution import MISMATCH, Outcome
from grader.model.compare import Comparison, compare
from grader.model.problems import Problem
from grader.model.report import TestResult
from grader.model.transforms import CheckRow
from grader.model.values import Output, compare_output
from grader.verdict import Verdict


def row_compare(problem: Problem, row: CheckRow, got: Output, want: Output) -> Comparison:
    """A row's result against the reference's, leaf by leaf, within the problem's tolerance (or
    the check's own rtol and atol)."""
    tol = problem.spec.tolerance
    tol = tol.model_copy(update={k: v for k in ("rtol", "atol")
                                 if (v := getattr(row.check, k)) is not None})
    if row.check.transform in ("jit", "vmap"):  # the function's own structure
        return compare_output(got, want, problem.spec.entry(row.check.call), tol, row.args)
    if not isinstance(want, dict):
        return compare(got, want, str(want.dtype), tol, dict(row.args))
    results = [(p, compare(got[p], want[p], str(want[p].dtype), tol, dict(row.args)))
               for p in row.leaf_paths]
    failing = [(p, c) for p, c in results if c.verdict != Verdict.ACCEPTED]
    ratios = [c.ratio for _, c in results if c.ratio is not None]
    if not failing:
        abs_ = max((c.max_abs_diff for _, c in results if c.max_abs_diff is not None),
                   default=None)
        return Comparison(Verdict.ACCEPTED, "", abs_, None, ratio=max(ratios, default=None))
    path, first = failing[0]
    return replace(first, message=f"d/d{path}: {first.message}",
                   summary=f"d/d{path}: {first.summary}")


def _what(row: CheckRow) -> str:
    c = row.check
    if c.transform == "vjp":
        return f"jax.vjp with respect to {', '.join(c.wrt or [])} (cotangent drawn from " \
               f"{c.cotangent.dist if c.cotangent else ''})"
    if c.transform == "jvp":
        return f"jax.jvp with respect to {', '.join(c.wrt or [])} (tangents drawn from " \
               f"{c.tangent.dist if c.tangent else ''})"
    if c.transform == "jit":
        static = f" (static_argnames={c.static})" if c.static else ""
        return f"jax.jit{static}"
    axes = ", ".join(f"{k}: {v}" for k, v in (c.in_axes or {}).items())
    return f"jax.vmap over a batch of {c.batch} (in_axes {{{axes}}})"


def judge_row(problem: Problem, row: CheckRow, result: TestResult, got: Output,
              want: Output) -> None:
    c = row_compare(problem, row, got, want)
    result.verdict, result.details = c.verdict, c.details
    result.max_abs_diff, result.max_rel_diff, result.ratio = c.max_abs_diff, c.max_rel_diff, c.ratio
    if c.verdict == Verdict.ACCEPTED:
        return
    result.message = f"under {_what(row)}: {c.message}"
    result.summary = f"under {row.label}: {c.summary}"
    args: dict[str, Any] = dict(row.args)
    for key in ("cotangent", "tangents"):
        if key in row.transform:
            args[key] = row.transform[key]
    result.shown = {"args": args, "expected": want, "got": got}


def failed_under(row: CheckRow, result: TestResult, bad: Outcome) -> None:
    """A row whose call raised, returned another structure or too much: which transform it
    failed under, and (visible rows only read `message`) the exception's class. The summary,
    all a hidden row could ever show, holds nothing the learner's code chose."""
    label = row.label
    if bad.verdict == Verdict.RUNTIME_ERROR:
        cls = f": {bad.exception_class}" if bad.exception_class else ""
        result.message = f"your function fails under {label}{cls}\n{bad.message}"
        result.summary = f"your function fails under {label}"
    elif bad.summary == MISMATCH:
        result.message = f"under {label}: {bad.message}"
        result.summary = f"under {label}: {MISMATCH}: " + (
            "one gradient per wrt argument" if row.check.transform == "vjp"
            else "the declared return" + (", batched" if row.check.transform == "vmap" else ""))
    else:
        result.message = f"under {label}: {bad.message}"
        result.summary = f"under {label}: {bad.summary}"
