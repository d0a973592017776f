"""Expected outputs of function checks: the trusted reference under the check's transform, run in
the judge's process (never in a jail) on the same arguments, tangents and cotangents."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.data.cache import EXPECTED, cached_arrays
from grader.errors import ReferenceSolutionError
from grader.model.inputs import call_args
from grader.model.problems import Problem
from grader.model.transforms import CheckRow
from grader.model.values import Output, pack
from grader.sandbox.runner import flatten, transformed


def reference_row(problem: Problem, row: CheckRow) -> Output:
    """The reference under one row's transform; a failure is the judge's fault."""
    ref = getattr(problem.reference_module, problem.spec.entry(row.check.call).name)
    shape = row.transform["returns"]
    try:
        result: Any = transformed(ref, call_args(row.args), row.transform)
        leaves = [np.asarray(result)] if shape is None else \
            [np.asarray(a) for a in flatten(result, shape)]
    except Exception as exc:
        raise ReferenceSolutionError(
            f"{problem.reference_path}: raised {exc!r} under function check {row.name!r}"
        ) from exc
    for leaf in leaves:
        if leaf.dtype.kind in "fc" and not np.all(np.isfinite(leaf)):
            raise ReferenceSolutionError(f"{problem.reference_path}: non-finite output under "
                                         f"function check {row.name!r}")
    return leaves[0] if not row.leaf_paths else dict(zip(row.leaf_paths, leaves, strict=True))


def expected_rows(problem: Problem, fresh: bool = False) -> list[Output]:
    """The reference's output on every function-check row, cached like expected_outputs."""
    rows = problem.check_rows
    if not rows:
        return []
    names = [f"{r.name}|{p}" if r.leaf_paths else r.name for r in rows
             for p in (r.leaf_paths or ("",))]

    def compute() -> dict[str, np.ndarray]:
        return pack({r.name: reference_row(problem, r) for r in rows})

    arrays = cached_arrays(EXPECTED, problem, "function_checks", names, compute, fresh=fresh)
    return [{p: arrays[f"{r.name}|{p}"] for p in r.leaf_paths} if r.leaf_paths
            else arrays[r.name] for r in rows]
