"""Mutants of the trusted reference, run in the judge's own process like the reference itself."""

from __future__ import annotations

import functools
import types
from typing import Any

import numpy as np

from grader.data.cache import EXPECTED, cached_arrays
from grader.data.expected import expected_outputs
from grader.model.inputs import bind_dims, call_args, expected_leaves
from grader.model.mutations import Mutant, mutants
from grader.model.problems import Problem
from grader.model.values import Output, compare_output, pack, trusted_output, unpack
from grader.verdict import Verdict


@functools.cache
def _mutants(source: str, function: str) -> tuple[Mutant, ...]:
    return tuple(mutants(source, function))


def reference_mutants(problem: Problem) -> tuple[Mutant, ...]:
    """Mutants of every entry the learner writes (each mutates one of them)."""
    source = problem.reference_path.read_text(encoding="utf-8")
    return tuple(m for f in problem.spec.entries for m in _mutants(source, f.name))


def _module(problem: Problem, mutant: Mutant) -> Any:
    module = types.ModuleType(f"jaxjudge_mutant_{problem.id}")
    module.__file__ = str(problem.reference_path)
    exec(compile(mutant.source, str(problem.reference_path), "exec"), module.__dict__)
    return module


def mutant_outputs(problem: Problem, mutant: Mutant) -> dict[str, Output]:
    """The mutant's output on each fixed test it answers with the declared shape and dtype and
    finite values (a mutant may raise, or give NaN: that test then has no output); cached with
    the expected outputs, keyed by the mutant's source as well."""

    def compute() -> dict[str, np.ndarray]:
        try:
            module = _module(problem, mutant)
        except Exception:  # a mutant that does not even import diagnoses nothing
            return {}
        out = {}
        for case in problem.tests:
            spec_fn = problem.spec.entry(case.call)
            try:
                fn = getattr(module, spec_fn.name)
                a = trusted_output(spec_fn, fn(**call_args(case.args, problem.given_functions)))
            except Exception:  # a mutant's failure is no judge error
                continue
            leaves = a if isinstance(a, dict) else {"": a}
            if all(leaves[path].shape == shape and leaves[path].dtype == np.dtype(dtype)
                   and np.all(np.isfinite(leaves[path]))
                   for path, dtype, shape in expected_leaves(spec_fn,
                                                             bind_dims(spec_fn, case.args))):
                out[case.name] = a
        return pack(out)

    return unpack(cached_arrays(EXPECTED, problem, "mutant", None, compute,
                                mutant.source.encode()), problem.spec.function)


def distinct_mutants(problem: Problem) -> list[tuple[Mutant, dict[str, Output]]]:
    """Mutants whose outputs differ from the reference's on some test, each with its outputs;
    of mutants with the same outputs on every test only the first is kept."""
    expected = dict(zip((c.name for c in problem.tests), expected_outputs(problem), strict=True))
    tol = problem.spec.tolerance
    kept: list[tuple[Mutant, dict[str, Output]]] = []
    for m in reference_mutants(problem):
        outs = mutant_outputs(problem, m)
        if not outs:
            continue

        def same(a: dict[str, Output], b: dict[str, Output]) -> bool:
            return a.keys() <= b.keys() and all(
                compare_output(a[n], b[n], problem.spec.entry(c.call), tol,
                               dict(c.args)).verdict
                == Verdict.ACCEPTED for c in problem.tests if (n := c.name) in a)

        if same(outs, expected) or any(same(outs, o) and o.keys() == outs.keys()
                                       for _, o in kept):
            continue
        kept.append((m, outs))
    return kept
