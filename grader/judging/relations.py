"""Relations between a failing submission's outputs and the expected ones, each said in a sentence.

"≈" is `compare` with the spec's tolerance (a leaf's own: a tuple or tree return is judged
leaf by leaf), on every fixed test the submission answered, so a relation holds only where it
explains every output, and a correct estimate on other samples (off by Monte-Carlo noise, not
by a factor) never reads as one. Hidden means hidden: a sentence
names no value, index or input of a hidden test. A constant seen on hidden tests only is named
only as a clean rational or a formula in a parameter (n, 1/n); else the relation stays silent.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from grader.model.checks import MeanCheck
from grader.model.compare import compare
from grader.model.inputs import TestCase, call_args
from grader.model.problems import Problem
from grader.model.spec import ArrayParam, ScalarParam, Tolerance
from grader.model.values import Output, leaf_tolerance
from grader.verdict import Verdict

# Constants a hint may name whatever tests showed them: no hidden value hides in these.
CLEAN = sorted({Fraction(s * p, q) for p in range(1, 5) for q in range(1, 5) for s in (1, -1)}
               - {Fraction(1)}, key=lambda f: (f.denominator, abs(f), f < 0))
COUNT = re.compile(r"^(n|n_.*|num_.*|.*_count)$")  # a scalar parameter that counts samples


@dataclass(frozen=True)
class Target:
    """What a sentence is about: the one array (path "") or one leaf of a tuple or tree return
    ("grads.w"), with its declared shape; with `functions`, of one entry ("adam_step's
    new_params.w")."""

    path: str
    shape: list[int | str]
    entry: str = ""  # with `functions`: the entry whose output it is

    @property
    def subject(self) -> str:
        return f"Your {self.noun}"

    @property
    def noun(self) -> str:
        own = f"{self.entry}'s " if self.entry else ""
        return own + (self.path or "result")


@dataclass(frozen=True, eq=False)
class Pair:
    """One fixed test the submission answered: its output, the expected one, the tolerance."""

    case: TestCase
    got: np.ndarray
    want: np.ndarray
    tol: Tolerance

    @property
    def ok(self) -> bool:
        return close(self.got, self.want, self)


def close(got: np.ndarray, want: np.ndarray, pair: Pair) -> bool:
    """got ≈ want with the allowance `compare` gives this test; any float dtype will do."""
    if got.shape != want.shape:
        return False
    return compare(got, want, str(got.dtype), pair.tol, dict(pair.case.args)).verdict \
        == Verdict.ACCEPTED


def relations(problem: Problem, outputs: dict[int, Output],
              expected: list[Output]) -> list[str]:
    """The first relation that explains every output, as one sentence (none: []). A tuple or
    tree return is judged leaf by leaf: each wrong leaf's first relation, named by its path
    ("Your grads.w is n_samples times the expected one"), however the other leaves fare."""
    tol = problem.spec.tolerance
    several = problem.spec.functions is not None
    out = []
    for fn in problem.spec.entries:  # each entry's tests, by its own return (`functions`)
        mine = {i: g for i, g in sorted(outputs.items())
                if problem.spec.entry(problem.tests[i].call) is fn}
        entry = fn.name if several else ""
        if not fn.structured:
            pairs = [Pair(problem.tests[i], np.asarray(g), np.asarray(expected[i]), tol)
                     for i, g in mine.items() if not isinstance(g, dict)]
            target = Target("", list(fn.leaves()[0][1].shape), entry)
            found = _first(problem, pairs, target, whole=True)
            out += [found] if found else []
            continue
        for path, leaf in fn.leaves():
            pairs = [Pair(problem.tests[i], np.asarray(g[path]), np.asarray(expected[i][path]),
                          leaf_tolerance(tol, path))
                     for i, g in mine.items() if isinstance(g, dict) and path in g]
            found = _first(problem, pairs, Target(path, list(leaf.shape), entry), whole=False)
            if found:
                out.append(found)
    return out


def _first(problem: Problem, pairs: list[Pair], target: Target, whole: bool) -> str:
    """The first relation that explains every pair of one output; "" when none does (or all
    are right). Right on visible tests only is said of a whole result, never of a leaf."""
    if not pairs or all(p.ok for p in pairs):
        return ""
    finders = [_per_sample, _transposed, _exact, _scaled, _row_scaled, _permuted]
    finders += [_visible_only, _ignores_inputs] if whole else [_ignores_inputs]
    for finder in finders:
        found = finder(problem, pairs, target)
        if found:
            return found
    return ""


def _per_sample(problem: Problem, pairs: list[Pair], target: Target) -> str:
    extra = [p for p in pairs if p.got.ndim == p.want.ndim + 1 and p.got.shape[1:] == p.want.shape]
    if extra and all(close(p.got.mean(axis=0), p.want, p) for p in extra):
        return (f"{target.subject} has one row per sample: the estimate is their mean over "
                "the samples (axis 0).")
    return ""


def _transposed(problem: Problem, pairs: list[Pair], target: Target) -> str:
    flipped = [p for p in pairs if p.got.ndim == 2 and p.got.shape == p.want.T.shape
               and not p.ok]
    if flipped and all(close(p.got.T, p.want, p) for p in flipped):
        dims = ", ".join(str(d) for d in target.shape)
        what = f"{target.path} with shape" if target.path else "shape"
        return (f"{target.subject} is the transpose of the expected one: return {what} "
                f"[{dims}].")
    return ""


def _exact(problem: Problem, pairs: list[Pair], target: Target) -> str:
    """The spec's exact expectation (a trusted reference helper) in place of an estimate."""
    for check in problem.spec.statistics:
        if not isinstance(check, MeanCheck) or (check.output or "") != target.path \
                or (check.call or "") != target.entry:
            continue
        fn = getattr(problem.reference_module, check.expectation, None)
        if not callable(fn):
            continue
        wanted = inspect.signature(fn).parameters
        if all(close(p.got, np.asarray(fn(**call_args({k: v for k, v in p.case.args.items()
                                                         if k in wanted},
                                                        problem.given_functions)),
                                         dtype=np.float64), p)
               for p in pairs):
            return (f"{target.subject} is the exact expectation, not the Monte-Carlo estimate "
                    "from sampled values that the exercise asks for.")
    return ""


def _counts(problem: Problem, pairs: list[Pair]) -> list[str]:
    """The scalar parameters that count samples, of the entry the pairs' tests call (they
    are one entry's: `relations` groups them so, and `_first` never asks of no pairs)."""
    fn = problem.spec.entry(pairs[0].case.call)
    return [p.name for p in fn.params if isinstance(p, ScalarParam) and COUNT.match(p.name)]


def _factors(problem: Problem, pairs: list[Pair], part: Callable[[np.ndarray], np.ndarray],
             ) -> Iterator[tuple[str, Callable[[Pair], float]]]:
    """(name, c per test) for each factor a hint may name: clean ones, then one a visible test
    shows (the least-squares c of its outputs, which the learner sees anyway)."""
    for n in _counts(problem, pairs):
        yield n, lambda p, n=n: float(p.case.args[n])  # type: ignore[misc]
        if all(float(p.case.args[n]) != 0 for p in pairs):  # a count of 0 divides nothing
            yield f"1/{n}", lambda p, n=n: 1 / float(p.case.args[n])  # type: ignore[misc]
    for f in CLEAN:
        yield str(f), lambda p, f=f: float(f)  # type: ignore[misc]
    shown = next((p for p in pairs if p.case.visible and not p.ok
                  and np.any(part(p.want) != 0)), None)
    if shown is not None:
        w, g = part(shown.want).astype(np.float64), part(shown.got).astype(np.float64)
        c = float((g * w).sum() / (w * w).sum())
        if f"{c:.3g}" not in ("1", "-1"):  # those are no factor to name
            yield f"{c:.3g}", lambda p: c


def _scaled(problem: Problem, pairs: list[Pair], target: Target) -> str:
    if any(p.got.shape != p.want.shape for p in pairs):
        return ""
    for name, c in _factors(problem, pairs, lambda a: a):
        if all(close(p.got, c(p) * p.want.astype(np.float64), p) for p in pairs):
            if name == "-1":
                return (f"{target.subject} is the expected one with the opposite sign: check "
                        "the sign of each term (a loss minimised where a reward is maximised?).")
            why = (" (a sum over the samples where their mean belongs?)"
                   if name.startswith(tuple(_counts(problem, pairs))) else
                   " (a mean where a sum belongs?)" if name.startswith("1/") else "")
            return f"{target.subject} is {name} times the expected one{why}."
    return ""


def _row_names(problem: Problem, rows: int, target: Target) -> list[str]:
    """Row k named after the k-th array parameter shaped like a row, when there are `rows`."""
    fn = problem.spec.entry(target.entry or None)
    like = [p.name for p in fn.params if isinstance(p, ArrayParam)
            and list(p.shape) == list(target.shape[1:])]
    return [f"{n} row" for n in like] if len(like) == rows else \
        [f"row {k}" for k in range(rows)]


def _row_scaled(problem: Problem, pairs: list[Pair], target: Target) -> str:
    """One row (of a multi-row output) off by one factor, the other rows right."""
    if any(p.got.shape != p.want.shape or p.got.ndim < 2 for p in pairs):
        return ""
    rows = pairs[0].got.shape[0]
    if any(p.got.shape[0] != rows for p in pairs):
        return ""
    bad = [k for k in range(rows) if not all(close(p.got[k], p.want[k], p) for p in pairs)]
    if len(bad) != 1:
        return ""
    k = bad[0]
    names = _row_names(problem, rows, target)
    if names[k].startswith("row") and not any(p.case.visible and not p.ok for p in pairs):
        return ""  # which row is wrong shows on a visible test only
    for name, c in _factors(problem, pairs, lambda a: a[k]):
        if all(close(p.got[k], c(p) * p.want[k].astype(np.float64), p) for p in pairs):
            what = "has the opposite sign" if name == "-1" else f"is {name} times the expected"
            whose = f"In {target.path}, your" if target.path else "Your"
            return f"{whose} {names[k]} {what} (the other rows are right)."
    return ""


def _permuted(problem: Problem, pairs: list[Pair], target: Target) -> str:
    wrong = [p for p in pairs if not p.ok]
    if all(p.got.shape == p.want.shape for p in wrong) and all(
            close(np.sort(p.got, axis=None), np.sort(p.want, axis=None), p) for p in wrong):
        return (f"{target.subject} holds the expected values in another order: check the "
                "order in which you index, stack or reshape them.")
    return ""


def _ignores_inputs(problem: Problem, pairs: list[Pair], target: Target) -> str:
    """Two tests with different expected outputs, to which it returns the same thing."""
    for i, a in enumerate(pairs):
        for b in pairs[i + 1:]:
            if a.got.shape == b.got.shape == a.want.shape == b.want.shape \
                    and a.case.call == b.case.call and np.array_equal(a.got, b.got) \
                    and not close(a.want, b.want, b):
                differ = [k for k in a.case.args if a.case.key() != b.case.key()
                          and not np.array_equal(a.case.args[k], b.case.args[k])]
                which = (f"`{differ[0]}`" if len(differ) == 1 and a.case.visible
                         and b.case.visible else "some of its inputs")
                return (f"Your function returns the same {target.noun} for tests whose inputs "
                        "differ: "
                        f"it ignores {which} (a constant, or values written for one example?).")
    return ""


VISIBLE_ONLY = ("Your result is right on every visible test and wrong on every hidden one: if "
                "it is written for the examples shown, compute it from the inputs instead.")


def _visible_only(problem: Problem, pairs: list[Pair], target: Target) -> str:
    shown = [p for p in pairs if p.case.visible]
    hidden = [p for p in pairs if not p.case.visible]
    if shown and hidden and all(p.ok for p in shown) and not any(p.ok for p in hidden):
        return VISIBLE_ONLY
    return ""
