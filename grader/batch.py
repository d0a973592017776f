"""Grading a whole class: find the submissions, grade them in parallel, skip unchanged ones."""

from __future__ import annotations

import hashlib
import json
import os
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from grader.compile_cache import compile_cache_dir, prepare
from grader.errors import JudgeError
from grader.execution import environment
from grader.expected import cache_dir, cache_key
from grader.judge import grade_submission
from grader.problems import Problem
from grader.sandbox import SANDBOX_UID, LocalSandbox, Sandbox

GRADER = Path(__file__).resolve().parent


def find_submissions(paths: list[Path], function: str) -> list[Path]:
    """Files as given; in a folder, each .py file, and each subfolder holding `<function>.py` or
    `submission.py` (one submission per student folder)."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix == ".py":
                    found.append(child)
                elif child.is_dir():
                    inner = [child / f"{function}.py", child / "submission.py"]
                    found += [p for p in inner if p.is_file()][:1]
        else:
            raise JudgeError(f"{path}: no such file or folder")
    if not found:
        raise JudgeError("no submissions found in " + ", ".join(map(str, paths)))
    return list(dict.fromkeys(found))


def result_key(problem: Problem, submission: Path, backend: str) -> str:
    """Changes with the file, the problem, the judge's own code, JAX, or the backend."""
    h = hashlib.sha256()
    parts = [submission.read_bytes(), cache_key(problem).encode(), backend.encode(),
             *(p.read_bytes() for p in sorted(GRADER.glob("*.py"))),  # runner.py among them
             json.dumps(environment(backend), sort_keys=True).encode()]
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _results_dir() -> Path:
    return cache_dir().parent / "results"


def _cached(key: str) -> dict[str, Any] | None:
    try:
        data = json.loads((_results_dir() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _store(key: str, report: dict[str, Any]) -> None:
    folder = _results_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(report), encoding="utf-8")
        os.replace(tmp, folder / f"{key}.json")
    except OSError:
        pass  # a read-only cache only costs time


def make_sandbox(backend: str, unsandboxed: bool = False, slot: int = 0,
                 per_process_limits: bool = False) -> Sandbox:
    """The sandbox for a backend name; slot `n` of a batch gets its own jail uid.
    per_process_limits: the local backend grades where no cgroup can be made (else refuses)."""
    if backend == "docker":
        if unsandboxed:
            raise JudgeError("--unsafe-no-sandbox applies to the local backend only")
        from grader.docker_sandbox import DockerSandbox

        return DockerSandbox(compile_cache=compile_cache_dir())
    # One uid per slot: concurrent jails must not share an RLIMIT_NPROC budget.
    return LocalSandbox(unsandboxed=unsandboxed, uid=SANDBOX_UID + slot,
                        compile_cache=compile_cache_dir(), per_process_limits=per_process_limits)


def grade_many(problem: Problem, submissions: list[Path], jobs: int, use_cache: bool = True,
               backend: str = "local", unsandboxed: bool = False, per_process_limits: bool = False,
               on_done: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Reports (as JSON dicts) in the order given; a hang or crash is one submission's verdict."""
    slots: queue.Queue[Sandbox] = queue.Queue()
    for slot in range(jobs):
        slots.put(make_sandbox(backend, unsandboxed, slot, per_process_limits))
    prepare(problem, slots.queue[0])

    def one(path: Path) -> dict[str, Any]:
        key = result_key(problem, path, backend)
        report = _cached(key) if use_cache else None
        if report is not None:
            report["submission"] = str(path)  # the same file may sit elsewhere now
        else:
            sandbox = slots.get()
            try:
                report = grade_submission(problem, path, sandbox).to_dict()
            finally:
                slots.put(sandbox)
            _store(key, report)
        if on_done is not None:
            on_done(report)
        return report

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, submissions))
