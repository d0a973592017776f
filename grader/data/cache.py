"""Every cache the judge keeps: where it lives, what its keys cover, and how it is written."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import numpy as np

from grader.model.inputs import Value
from grader.model.problems import Problem
from grader.model.submission import Submission
from grader.sandbox.local import LocalSandbox
from grader.sandbox.protocol import Sandbox

GRADER = Path(__file__).resolve().parents[1]  # the whole package: its sources are the judge
# The kinds of cache under the root, each its own folder; the compile cache may live elsewhere.
EXPECTED, DIAGNOSES, BASELINES, RESULTS = "expected", "diagnoses", "baselines", "results"
COMPILE = "xla"


def root() -> Path:
    """$XDG_CACHE_HOME/jaxjudge, else ~/.cache/jaxjudge."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jaxjudge"


def folder(kind: str) -> Path:
    return compile_cache_dir() if kind == COMPILE else root() / kind


def compile_cache_dir() -> Path:
    """The persistent XLA cache: $JAXJUDGE_COMPILE_CACHE, else under the cache root."""
    env = os.environ.get("JAXJUDGE_COMPILE_CACHE")
    return Path(env) if env else root() / COMPILE


def locations() -> dict[str, Path]:
    return {kind: folder(kind) for kind in (EXPECTED, DIAGNOSES, BASELINES, RESULTS, COMPILE)}


# --- keys -------------------------------------------------------------------------------------

def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"  # a checkout on PYTHONPATH, never installed: its sources still count


@functools.cache
def judge_version() -> str:
    """The package version and a hash of the judge's own sources (the runner among them)."""
    h = hashlib.sha256()
    for path in sorted(GRADER.rglob("*.py")):
        h.update(path.relative_to(GRADER).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return f"{_version('jaxjudge')}+{h.hexdigest()[:16]}"


def versions() -> dict[str, str]:
    """Everything outside the problem that can change a computed value."""
    return {"jax": _version("jax"), "jaxlib": _version("jaxlib"), "numpy": _version("numpy"),
            "jaxjudge": judge_version()}


def args_bytes(args: dict[str, Value]) -> bytes:
    """One call's inputs as bytes: dtype, shape and raw bytes of arrays, repr of scalars."""
    parts = []
    for name, v in sorted(args.items()):
        if isinstance(v, np.ndarray):
            a = np.ascontiguousarray(v)
            parts.append(f"{name}:{a.dtype.str}{list(a.shape)}:".encode() + a.tobytes())
        elif isinstance(v, dict):  # a tree: its leaves, each by its dotted path
            parts.append(f"{name}:tree:".encode() + args_bytes(
                {f"{k}": x for k, x in v.items()}))
        else:
            parts.append(f"{name}:{type(v).__name__}:{v!r}".encode())
    return b"\0".join(hashlib.sha256(p).digest() for p in parts)


def _digest(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def problem_key(problem: Problem, *extra: bytes) -> str:
    """Changes with the spec, the reference, the given functions, any test's materialised inputs,
    JAX, numpy, the judge, or `extra`."""
    inputs = [c.name.encode() + b"\0" + args_bytes(c.args) for c in problem.tests]
    given = problem.given_path
    return _digest([problem.spec_path.read_bytes(), problem.reference_path.read_bytes(),
                    b"given\0" + (given.read_bytes() if given is not None else b""), *inputs,
                    json.dumps(versions(), sort_keys=True).encode(), *extra])[:32]


def result_key(problem: Problem, submission: Submission, backend: str) -> str:
    """Changes with the file's bytes, anything `problem_key` covers, or the backend."""
    return _digest([submission.source, problem_key(problem).encode(), backend.encode()])


def isolated(sandbox: Sandbox) -> bool:
    """False for a local sandbox told to run unisolated: nothing it produces may be cached."""
    return not (isinstance(sandbox, LocalSandbox) and sandbox.bwrap is None
                and not sandbox.uid_only)


# --- writes -----------------------------------------------------------------------------------

def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> bool:
    """Writes through a uniquely named temp file beside `path`, then renames it into place, so a
    reader (or another thread or process writing the same key) never sees half a file. A cache
    that cannot be written only costs time: returns False then; the temp never stays behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            return False
        raise
    return True


def store_arrays(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    data: dict[str, Any] = dict(arrays)
    return atomic_write(path, lambda f: np.savez(f, **data))


def load_arrays(path: Path, names: list[str] | None = None) -> dict[str, np.ndarray] | None:
    """The stored arrays, or None when missing, unreadable or lacking one of `names`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if names is None or set(names) <= set(data.files):
                return {n: data[n] for n in data.files}
    except (OSError, ValueError, EOFError):
        pass
    return None


def arrays_path(kind: str, problem: Problem, tag: str, *extra: bytes) -> Path:
    name = f"{problem.id}-{tag}-" if tag else f"{problem.id}-"
    return folder(kind) / f"{name}{problem_key(problem, tag.encode(), *extra)}.npz"


def cached_arrays(kind: str, problem: Problem, tag: str, names: list[str] | None,
                  compute: Callable[[], dict[str, np.ndarray]], *extra: bytes,
                  fresh: bool = False) -> dict[str, np.ndarray]:
    """Named arrays computed by trusted code, from a cache only the judge writes.

    `names`, when given, must all be present for a cached file to count (else recompute);
    `fresh` recomputes and overwrites whatever is cached.
    """
    path = arrays_path(kind, problem, tag, *extra)
    if not fresh and (hit := load_arrays(path, names)) is not None:
        return hit
    arrays = compute()
    store_arrays(path, arrays)
    return arrays


# --- results ----------------------------------------------------------------------------------

def load_result(key: str) -> dict[str, Any] | None:
    try:
        data = json.loads((folder(RESULTS) / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and cacheable(data) else None


def cacheable(report: dict[str, Any]) -> bool:
    """A judge_error is the judge's passing fault: the next grade must run again."""
    verdicts = [report.get("verdict"), *(t.get("verdict") for t in report.get("tests", []))]
    return "judge_error" not in verdicts


def store_result(key: str, report: dict[str, Any]) -> bool:
    if not cacheable(report):
        return False
    text = json.dumps(report).encode()
    return atomic_write(folder(RESULTS) / f"{key}.json", lambda f: f.write(text))


# --- clearing ---------------------------------------------------------------------------------

def size_of(path: Path) -> int:
    if not path.is_dir():
        return path.lstat().st_size if path.exists() or path.is_symlink() else 0
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(dirpath) / name).lstat().st_size
            except OSError:
                continue
    return total


def clear() -> list[tuple[Path, int]]:
    """Removes every cache (and the root, with whatever older versions left in it); returns each
    folder removed and its size in bytes. Raises OSError when one cannot be removed."""
    paths = [*locations().values(), root()]
    home = Path.home().resolve()
    for path in paths:
        if path.resolve() in (home, *home.parents):
            # $JAXJUDGE_COMPILE_CACHE set to $HOME or /: that holds more than our cache.
            raise OSError(f"{path} is the home folder or above it, not a jaxjudge cache")
    removed = []
    for path in paths:
        if path.is_dir() and not path.is_symlink() and not path.stat().st_mode & 0o444:
            path.chmod(0o700)  # the sealed compile cache: even its owner must list it to remove it
        if path.exists() or path.is_symlink():
            size = size_of(path)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append((path, size))
    return removed
