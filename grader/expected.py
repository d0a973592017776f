"""Expected outputs: the trusted reference run on a test's inputs, checked against the spec."""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from grader.errors import ReferenceError
from grader.inputs import TestCase, bind_dims, expected_shape
from grader.problems import Problem


def reference_output(problem: Problem, case: TestCase) -> np.ndarray:
    """Runs the reference on one test; a failure or a misshapen result is the judge's fault."""
    module = problem.reference_module
    fn = getattr(module, problem.spec.function.name, None)
    if not callable(fn):
        raise ReferenceError(
            f"{problem.reference_path}: defines no function {problem.spec.function.name!r}"
        )
    try:
        out = np.asarray(fn(**case.args))
    except Exception as exc:
        raise ReferenceError(
            f"{problem.reference_path}: raised {exc!r} on test {case.name!r}"
        ) from exc
    want_shape = expected_shape(problem.spec.function, bind_dims(problem.spec.function, case.args))
    want_dtype = np.dtype(problem.spec.function.returns.dtype)
    if out.shape != want_shape or out.dtype != want_dtype:
        raise ReferenceError(
            f"{problem.reference_path}: test {case.name!r} returned {out.dtype}{list(out.shape)}, "
            f"the spec declares {want_dtype}{list(want_shape)}"
        )
    if not np.all(np.isfinite(out)):
        raise ReferenceError(f"{problem.reference_path}: non-finite output on test {case.name!r}")
    return out


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jaxjudge" / "expected"


def cache_key(problem: Problem) -> str:
    """Changes whenever the spec, the reference, or the JAX that computes them changes."""
    h = hashlib.sha256()
    for part in (problem.spec_path.read_bytes(), problem.reference_path.read_bytes(),
                 metadata.version("jax").encode(), metadata.version("jaxlib").encode()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:32]


def expected_outputs(problem: Problem) -> list[np.ndarray]:
    """The reference's output on every test, from a cache the judge alone writes."""
    path = _cache_path(problem)
    names = [c.name for c in problem.tests]
    try:
        with np.load(path, allow_pickle=False) as data:
            if sorted(data.files) == sorted(names):
                return [data[n] for n in names]
    except (OSError, ValueError):
        pass  # missing or unreadable: recompute
    outs = [reference_output(problem, c) for c in problem.tests]
    store_expected(problem, outs)
    return outs


def _cache_path(problem: Problem) -> Path:
    return cache_dir() / f"{problem.id}-{cache_key(problem)}.npz"


def store_expected(problem: Problem, outs: list[np.ndarray]) -> None:
    """Writes the reference's outputs for every test; only trusted code ever calls this."""
    path = _cache_path(problem)
    names = [c.name for c in problem.tests]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        arrays: dict[str, Any] = dict(zip(names, outs, strict=True))
        np.savez(tmp, **arrays)
        os.replace(tmp, path)  # atomic: concurrent graders never read half a file
    except OSError:
        pass  # a read-only cache only costs time
