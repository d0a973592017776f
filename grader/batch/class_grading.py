"""Grading a whole class: find the submissions, grade them in parallel, skip unchanged ones."""

from __future__ import annotations

import os
import queue
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from grader.data.cache import compile_cache_dir, load_result, result_key, store_result
from grader.errors import JudgeError, SubmissionRefused
from grader.judging.execution import environment
from grader.judging.judge import grade_submission
from grader.model.inputs import TestCase
from grader.model.problems import Problem
from grader.model.report import Report, TestResult
from grader.model.submission import read_submission
from grader.sandbox.factory import make_sandbox
from grader.sandbox.protocol import Sandbox
from grader.tools.warm import prepare
from grader.verdict import Verdict


def find_submissions(paths: list[Path], function: str) -> list[Path]:
    """Files as given; in a folder, each .py or .ipynb file, and each subfolder holding
    `<function>.py` or `submission.py` (one submission per student folder). Links and special
    files inside a folder are listed, never followed, so that grading refuses them by name."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_dir() and not child.is_symlink():
                    inner = [child / f"{function}.py", child / "submission.py"]
                    found += [p for p in inner if os.path.lexists(p)][:1]
                elif child.suffix in (".py", ".ipynb") or (child.is_symlink() and child.is_dir()):
                    # Listed whatever it is, never followed: reading refuses all but files.
                    found.append(child)
        elif os.path.lexists(path):
            found.append(path)
        else:
            raise JudgeError(f"{path}: no such file or folder")
    if not found:
        raise JudgeError("no submissions found in " + ", ".join(map(str, paths)))
    return list(dict.fromkeys(found))


def ungraded(problem: Problem, name: str, verdict: Verdict, message: str,
             backend: str) -> dict[str, Any]:
    """The report of a submission that never ran: every test and check failed with `message`,
    so exports keep their columns and points."""
    units = [*problem.tests, *problem.spec.statistics]
    tests = [TestResult(u.name, verdict, u.visible, u.points, message,
                        statistical=not isinstance(u, TestCase)) for u in units]
    return Report(problem.id, name, tests, [], environment(backend), 0.0).to_dict(reveal=True)


def grade_many(problem: Problem, submissions: list[Path], jobs: int, use_cache: bool = True,
               backend: str = "local", unsandboxed: bool = False, per_process_limits: bool = False,
               on_done: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Reports (as JSON dicts) in the order given; a hang or crash is one submission's verdict.

    The result cache is neither read nor written for unisolated grades, and never keeps a
    judge_error; `use_cache=False` regrades and refreshes it.
    """
    slots: queue.Queue[Sandbox] = queue.Queue()
    for slot in range(jobs):
        slots.put(make_sandbox(backend, compile_cache_dir(), unsandboxed, slot,
                               per_process_limits))
    prepare(problem, slots.queue[0])

    def one(path: Path) -> dict[str, Any]:
        submission = read_submission(path)  # once: the key and the grade see the same bytes
        key = "" if unsandboxed else result_key(problem, submission, backend)
        report = load_result(key) if use_cache and key else None
        if report is not None:
            report["submission"] = str(path)  # the same file may sit elsewhere now
        else:
            sandbox = slots.get()
            try:
                report = grade_submission(problem, submission, sandbox).to_dict(reveal=True)
            finally:
                slots.put(sandbox)
            if key:
                store_result(key, report)
        return report

    def guarded(path: Path) -> dict[str, Any]:
        # Whatever goes wrong with one submission is its own entry, never the class's end.
        try:
            report = one(path)
        except SubmissionRefused as exc:  # the uploader's doing: like a file that does not load
            report = ungraded(problem, str(path), Verdict.COMPILE_ERROR, str(exc), backend)
        except Exception as exc:
            if os.environ.get("JAXJUDGE_DEBUG") == "1":
                traceback.print_exc()
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            report = ungraded(problem, str(path), Verdict.JUDGE_ERROR,
                              f"the judge failed on this submission: {type(exc).__name__}: "
                              f"{first}", backend)
        if on_done is not None:
            on_done(report)
        return report

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(guarded, submissions))
