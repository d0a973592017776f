"""Expected outputs: the trusted reference run on a test's inputs, checked against the spec."""

from __future__ import annotations

import numpy as np

from grader.data.cache import EXPECTED, cached_arrays
from grader.errors import ReferenceSolutionError
from grader.model.inputs import TestCase, bind_dims, expected_shape
from grader.model.problems import Problem


def reference_output(problem: Problem, case: TestCase) -> np.ndarray:
    """Runs the reference on one test; a failure or a misshapen result is the judge's fault."""
    module = problem.reference_module
    fn = getattr(module, problem.spec.function.name, None)
    if not callable(fn):
        raise ReferenceSolutionError(
            f"{problem.reference_path}: defines no function {problem.spec.function.name!r}"
        )
    try:
        out = np.asarray(fn(**case.args))
    except Exception as exc:
        raise ReferenceSolutionError(
            f"{problem.reference_path}: raised {exc!r} on test {case.name!r}"
        ) from exc
    want_shape = expected_shape(problem.spec.function, bind_dims(problem.spec.function, case.args))
    want_dtype = np.dtype(problem.spec.function.returns.dtype)
    if out.shape != want_shape or out.dtype != want_dtype:
        raise ReferenceSolutionError(
            f"{problem.reference_path}: test {case.name!r} returned {out.dtype}{list(out.shape)}, "
            f"the spec declares {want_dtype}{list(want_shape)}"
        )
    if not np.all(np.isfinite(out)):
        raise ReferenceSolutionError(
            f"{problem.reference_path}: non-finite output on test {case.name!r}")
    return out


def expected_outputs(problem: Problem, fresh: bool = False) -> list[np.ndarray]:
    """The reference's output on every test; `fresh` recomputes and overwrites the cache."""
    names = [c.name for c in problem.tests]

    def compute() -> dict[str, np.ndarray]:
        return {c.name: reference_output(problem, c) for c in problem.tests}

    arrays = cached_arrays(EXPECTED, problem, "", names, compute, fresh=fresh)
    return [arrays[n] for n in names]
