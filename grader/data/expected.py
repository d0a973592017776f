"""Expected outputs: the trusted reference run on a test's inputs, checked against the spec."""

from __future__ import annotations

import numpy as np

from grader.data.cache import EXPECTED, cached_arrays
from grader.errors import ReferenceSolutionError
from grader.model.inputs import TestCase, bind_dims, expected_leaves
from grader.model.problems import Problem, entries_by_test
from grader.model.values import Output, pack, packed_names, unpack


def reference_output(problem: Problem, case: TestCase) -> Output:
    """Runs the reference on one test; a failure or a misshapen result is the judge's fault.
    A tuple or tree return comes back as a dict of arrays by leaf path."""
    fn = problem.spec.entry(case.call)
    out = problem.run_reference(case)
    leaves = out if isinstance(out, dict) else {"": out}
    for path, dtype, shape in expected_leaves(fn, bind_dims(fn, case.args)):
        got = leaves[path]
        if got.shape != shape or got.dtype != np.dtype(dtype):
            where = f" {path}" if path else ""
            raise ReferenceSolutionError(
                f"{problem.reference_path}: test {case.name!r} returned{where} "
                f"{got.dtype}{list(got.shape)}, the spec declares {dtype}{list(shape)}")
        if got.dtype.kind in "fc" and not np.all(np.isfinite(got)):
            raise ReferenceSolutionError(f"{problem.reference_path}: non-finite output on test "
                                 f"{case.name!r}" + (f" ({path})" if path else ""))
    return out


def expected_outputs(problem: Problem, fresh: bool = False) -> list[Output]:
    """The reference's output on every test; `fresh` recomputes and overwrites the cache."""
    names = [c.name for c in problem.tests]
    fn = problem.spec.function

    def compute() -> dict[str, np.ndarray]:
        return pack({c.name: reference_output(problem, c) for c in problem.tests})

    by_name = entries_by_test(problem)
    arrays = unpack(cached_arrays(EXPECTED, problem, "", packed_names(names, fn, by_name),
                                  compute, fresh=fresh), fn, by_name)
    return [arrays[n] for n in names]
