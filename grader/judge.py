"""grade_submission: expected outputs from the trusted reference, the submission in a sandbox."""

from __future__ import annotations

import time
from importlib import metadata
from pathlib import Path

import numpy as np

from grader.compare import compare
from grader.expected import expected_outputs
from grader.problems import Problem
from grader.report import Report, TestResult
from grader.sandbox import Captured, Event, Job, LocalSandbox, Sandbox
from grader.verdict import Verdict

KILL_MESSAGES = {
    "timeout": (Verdict.TIME_LIMIT_EXCEEDED, "over the time limit: killed"),
    "protocol": (Verdict.RUNTIME_ERROR, "your code wrote into the judge's result channel"),
}


def environment(backend: str) -> dict[str, str]:
    return {"jax": metadata.version("jax"), "jaxlib": metadata.version("jaxlib"),
            "backend": backend}


def _out_of_memory(captured: Captured) -> bool:
    return any(m in captured.stderr for m in (b"bad_alloc", b"RESOURCE_EXHAUSTED", b"MemoryError"))


def _killed(event: Event) -> tuple[Verdict, str]:
    reason = event.header.get("reason")
    if reason in KILL_MESSAGES:
        return KILL_MESSAGES[str(reason)]
    code = event.header.get("code")
    if code is not None and code < 0:
        return Verdict.RUNTIME_ERROR, f"your process was killed by signal {-code}"
    return Verdict.RUNTIME_ERROR, f"your code ended the process (exit status {code}) mid-test"


def grade_submission(problem: Problem, submission: Path, sandbox: Sandbox | None = None) -> Report:
    """Grades one learner file; learner mistakes come back as verdicts, never as exceptions."""
    start = time.monotonic()
    sandbox = sandbox or LocalSandbox()
    spec = problem.spec
    cases = problem.tests
    expected = expected_outputs(problem)
    job = Job(submission, spec.function.name, [c.args for c in cases],
              spec.limits.time_per_test_s, spec.limits.total_time_s, spec.limits.memory_mb,
              int(spec.limits.output_mb * 1024 * 1024), spec.limits.startup_s)
    results: dict[int, TestResult] = {}
    feedback: list[str] = []
    captured = Captured()
    stop: tuple[Verdict, str] | None = None
    current: int | None = None
    ready = False
    for event in sandbox.run(job, captured):
        if event.kind == "ready":
            ready = True
        elif event.kind == "start":
            current = event.test
        elif event.kind == "compile_error":
            stop = (Verdict.COMPILE_ERROR, str(event.header.get("message", "")))
        elif event.kind == "killed":
            stop = _killed(event)
        elif event.test is not None and 0 <= event.test < len(cases) \
                and event.test not in results:
            results[event.test] = _judge_test(problem, event, expected[event.test])
            current = None
    if not ready:
        # The runner dies before the learner's file is even read: the judge's fault.
        tail = captured.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        stop = (Verdict.JUDGE_ERROR, "the sandbox failed to start: " + " | ".join(tail))
    elif stop is not None and stop[0] == Verdict.RUNTIME_ERROR and _out_of_memory(captured):
        stop = (Verdict.MEMORY_LIMIT_EXCEEDED,
                f"over the memory limit of {spec.limits.memory_mb} MB: killed")
    missing = [i for i in range(len(cases)) if i not in results]
    culprit = current if current is not None else (missing[0] if missing else None)
    for index in missing:
        case = cases[index]
        if stop is None:
            verdict, message = Verdict.RUNTIME_ERROR, "no result came back for this test"
        elif index == culprit or stop[0] == Verdict.COMPILE_ERROR:
            verdict, message = stop
        else:
            verdict, message = stop[0], "not run: an earlier test ended the submission"
        results[index] = TestResult(case.name, verdict, case.visible, case.points, message)
    tests = [results[i] for i in range(len(cases))]
    out = (captured.stdout + captured.stderr).decode("utf-8", "replace")
    return Report(problem.id, str(submission), tests, feedback, environment(sandbox.name),
                  time.monotonic() - start, out)


def _judge_test(problem: Problem, event: Event, want: np.ndarray) -> TestResult:
    assert event.test is not None
    case = problem.tests[event.test]
    base = TestResult(case.name, Verdict.ACCEPTED, case.visible, case.points)
    if event.kind == "error":
        base.verdict = Verdict(str(event.header.get("verdict", "runtime_error")))
        base.message = str(event.header.get("message", ""))
        return base
    if event.kind == "output_limit":
        base.verdict = Verdict.OUTPUT_LIMIT_EXCEEDED
        base.message = f"returned {event.header.get('got_bytes')} bytes, over the output cap"
        return base
    if event.array is None:
        base.verdict, base.message = Verdict.JUDGE_ERROR, f"unexpected event {event.kind!r}"
        return base
    c = compare(event.array, want, problem.spec.function.returns.dtype, problem.spec.tolerance,
                dict(case.args))
    base.verdict, base.message, base.details = c.verdict, c.message, c.details
    base.max_abs_diff, base.max_rel_diff = c.max_abs_diff, c.max_rel_diff
    if case.visible and c.verdict != Verdict.ACCEPTED:
        base.shown = {**case.args, "expected": want, "got": event.array}
    return base
