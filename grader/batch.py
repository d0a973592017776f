"""Grading a whole class: find the submissions, grade them in parallel, skip unchanged ones."""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from grader.cache import compile_cache_dir, load_result, result_key, store_result
from grader.compile_cache import prepare
from grader.errors import JudgeError
from grader.judge import grade_submission
from grader.problems import Problem
from grader.sandbox import SANDBOX_UID, LocalSandbox, Sandbox


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


def make_sandbox(backend: str, unsandboxed: bool = False, slot: int = 0) -> Sandbox:
    """The sandbox for a backend name; slot `n` of a batch gets its own jail uid."""
    if backend == "docker":
        if unsandboxed:
            raise JudgeError("--unsafe-no-sandbox applies to the local backend only")
        from grader.docker_sandbox import DockerSandbox

        return DockerSandbox(compile_cache=compile_cache_dir())
    # One uid per slot: concurrent jails must not share an RLIMIT_NPROC budget. Unisolated code
    # gets no compile cache: it would write to it.
    return LocalSandbox(unsandboxed=unsandboxed, uid=SANDBOX_UID + slot,
                        compile_cache=None if unsandboxed else compile_cache_dir())


def grade_many(problem: Problem, submissions: list[Path], jobs: int, use_cache: bool = True,
               backend: str = "local", unsandboxed: bool = False,
               on_done: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Reports (as JSON dicts) in the order given; a hang or crash is one submission's verdict.

    The result cache is neither read nor written for unisolated grades, and never keeps a
    judge_error; `use_cache=False` regrades and refreshes it.
    """
    slots: queue.Queue[Sandbox] = queue.Queue()
    for slot in range(jobs):
        slots.put(make_sandbox(backend, unsandboxed, slot))
    prepare(problem, slots.queue[0])

    def one(path: Path) -> dict[str, Any]:
        key = "" if unsandboxed else result_key(problem, path, backend)
        report = load_result(key) if use_cache and key else None
        if report is not None:
            report["submission"] = str(path)  # the same file may sit elsewhere now
        else:
            sandbox = slots.get()
            try:
                report = grade_submission(problem, path, sandbox).to_dict()
            finally:
                slots.put(sandbox)
            if key:
                store_result(key, report)
        if on_done is not None:
            on_done(report)
        return report

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, submissions))
