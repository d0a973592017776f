"""Expected outputs: the trusted reference run on a test's inputs, checked against the spec."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
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


def compile_cache_dir() -> Path:
    """The persistent XLA cache: $JAXJUDGE_COMPILE_CACHE, else next to the expected outputs."""
    env = os.environ.get("JAXJUDGE_COMPILE_CACHE")
    return Path(env) if env else cache_dir().parent / "xla"


def cache_key(problem: Problem, *extra: bytes) -> str:
    """Changes whenever the spec, the reference, the JAX that computes them, or `extra` change."""
    h = hashlib.sha256()
    for part in (problem.spec_path.read_bytes(), problem.reference_path.read_bytes(),
                 metadata.version("jax").encode(), metadata.version("jaxlib").encode(), *extra):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:32]


def cached_arrays(problem: Problem, tag: str, names: list[str] | None,
                  compute: Callable[[], dict[str, np.ndarray]], *extra: bytes,
                  fresh: bool = False) -> dict[str, np.ndarray]:
    """Named arrays computed by trusted code, from a cache only the judge writes.

    `names`, when given, must all be present for a cached file to count (else recompute);
    `fresh` recomputes and overwrites whatever is cached.
    """
    path = cache_dir() / f"{problem.id}-{tag}-{cache_key(problem, *extra)}.npz"
    try:
        if not fresh:
            with np.load(path, allow_pickle=False) as data:
                if names is None or set(names) <= set(data.files):
                    return {n: data[n] for n in data.files}
    except (OSError, ValueError):
        pass  # missing or unreadable: recompute
    arrays = compute()
    store_arrays(path, arrays)
    return arrays


def store_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        data: dict[str, Any] = dict(arrays)
        np.savez(tmp, **data)
        os.replace(tmp, path)  # atomic: concurrent graders never read half a file
    except OSError:
        pass  # a read-only cache only costs time


def expected_outputs(problem: Problem, fresh: bool = False) -> list[np.ndarray]:
    """The reference's output on every test; `fresh` recomputes and overwrites the cache."""
    names = [c.name for c in problem.tests]

    def compute() -> dict[str, np.ndarray]:
        return {c.name: reference_output(problem, c) for c in problem.tests}

    arrays = cached_arrays(problem, "expected", names, compute, fresh=fresh)
    return [arrays[n] for n in names]
