"""Mutants of the trusted reference, run in the judge's own process like the reference itself."""

from __future__ import annotations

import functools
import types
from typing import Any

import numpy as np

from grader.data.cache import EXPECTED, cached_arrays
from grader.data.expected import expected_outputs
from grader.model.compare import compare
from grader.model.inputs import bind_dims, expected_shape
from grader.model.mutations import Mutant, mutants
from grader.model.problems import Problem
from grader.verdict import Verdict


@functools.cache
def _mutants(source: str, function: str) -> tuple[Mutant, ...]:
    return tuple(mutants(source, function))


def reference_mutants(problem: Problem) -> tuple[Mutant, ...]:
    source = problem.reference_path.read_text(encoding="utf-8")
    return _mutants(source, problem.spec.function.name)


def _function(problem: Problem, mutant: Mutant) -> Any:
    module = types.ModuleType(f"jaxjudge_mutant_{problem.id}")
    module.__file__ = str(problem.reference_path)
    exec(compile(mutant.source, str(problem.reference_path), "exec"), module.__dict__)
    return getattr(module, problem.spec.function.name)


def mutant_outputs(problem: Problem, mutant: Mutant) -> dict[str, np.ndarray]:
    """The mutant's output on each fixed test it answers with the declared shape and dtype and
    finite values (a mutant may raise, or give NaN: that test then has no output); cached with
    the expected outputs, keyed by the mutant's source as well."""

    def compute() -> dict[str, np.ndarray]:
        try:
            fn = _function(problem, mutant)
        except Exception:  # a mutant that does not even import diagnoses nothing
            return {}
        dtype = np.dtype(problem.spec.function.returns.dtype)
        out = {}
        for case in problem.tests:
            try:
                a = np.asarray(fn(**case.args))
            except Exception:  # a mutant's failure is no judge error
                continue
            shape = expected_shape(problem.spec.function, bind_dims(problem.spec.function,
                                                                     case.args))
            if a.shape == shape and a.dtype == dtype and np.all(np.isfinite(a)):
                out[case.name] = a
        return out

    return cached_arrays(EXPECTED, problem, "mutant", None, compute, mutant.source.encode())


def distinct_mutants(problem: Problem) -> list[tuple[Mutant, dict[str, np.ndarray]]]:
    """Mutants whose outputs differ from the reference's on some test, each with its outputs;
    of mutants with the same outputs on every test only the first is kept."""
    expected = dict(zip((c.name for c in problem.tests), expected_outputs(problem), strict=True))
    tol = problem.spec.tolerance
    kept: list[tuple[Mutant, dict[str, np.ndarray]]] = []
    for m in reference_mutants(problem):
        outs = mutant_outputs(problem, m)
        if not outs:
            continue

        def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
            return a.keys() <= b.keys() and all(
                compare(a[n], b[n], str(b[n].dtype), tol, dict(c.args)).verdict
                == Verdict.ACCEPTED for c in problem.tests if (n := c.name) in a)

        if same(outs, expected) or any(same(outs, o) and o.keys() == outs.keys()
                                       for _, o in kept):
            continue
        kept.append((m, outs))
    return kept
