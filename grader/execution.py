"""Running a submission over a job's calls and recording what each call produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from grader.problems import Problem
from grader.sandbox import Captured, Event, Job, Sandbox
from grader.verdict import Verdict

KILL_MESSAGES = {
    "timeout": (Verdict.TIME_LIMIT_EXCEEDED, "over the time limit: killed"),
    "protocol": (Verdict.RUNTIME_ERROR, "your code wrote into the judge's result channel"),
}


def environment(backend: str) -> dict[str, str]:
    return {"jax": metadata.version("jax"), "jaxlib": metadata.version("jaxlib"),
            "backend": backend}


@dataclass(eq=False)  # it holds arrays: compare by identity, never elementwise
class Outcome:
    """What one call of the learner's function produced: an array, or a verdict and message."""

    array: np.ndarray | None = None
    verdict: Verdict = Verdict.ACCEPTED
    message: str = ""


@dataclass
class Run:
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    ready: bool = False
    stop: tuple[Verdict, str] | None = None
    current: int | None = None  # the call under way when the run ended
    captured: Captured = field(default_factory=Captured)


def _out_of_memory(captured: Captured) -> bool:
    return any(m in captured.stderr for m in (b"bad_alloc", b"RESOURCE_EXHAUSTED", b"MemoryError"))


def _killed(event: Event, job: Job) -> tuple[Verdict, str]:
    if event.header.get("oom"):  # the submission's memory cgroup killed one of its processes
        return Verdict.MEMORY_LIMIT_EXCEEDED, f"over the memory limit of {job.memory_mb} MB: killed"
    reason = event.header.get("reason")
    if reason in KILL_MESSAGES:
        return KILL_MESSAGES[str(reason)]
    code = event.header.get("code")
    if code is not None and code < 0:
        return Verdict.RUNTIME_ERROR, f"your process was killed by signal {-code}"
    return Verdict.RUNTIME_ERROR, f"your code ended the process (exit status {code}) mid-test"


def _outcome(event: Event) -> Outcome:
    if event.kind == "error":
        return Outcome(None, Verdict(str(event.header["verdict"])),
                       str(event.header.get("message", "")))
    if event.kind == "output_limit":
        return Outcome(None, Verdict.OUTPUT_LIMIT_EXCEEDED,
                       f"returned {event.header.get('got_bytes')} bytes, over the output cap")
    if event.array is None:
        return Outcome(None, Verdict.JUDGE_ERROR, f"unexpected event {event.kind!r}")
    return Outcome(event.array)


def run_calls(sandbox: Sandbox, job: Job) -> Run:
    """Runs one submission over all calls of a job and records what each call produced."""
    run = Run()
    for event in sandbox.run(job, run.captured):
        if event.kind == "ready":
            run.ready = True
        elif event.kind == "start":
            run.current = event.test
        elif event.kind == "compile_error":
            run.stop = (Verdict.COMPILE_ERROR, str(event.header.get("message", "")))
        elif event.kind == "killed":
            run.stop = _killed(event, job)
        elif event.test is not None and 0 <= event.test < len(job.tests) \
                and event.test not in run.outcomes:
            run.outcomes[event.test] = _outcome(event)
            run.current = None
    if not run.ready:
        # The runner dies before the learner's file is even read: the judge's fault.
        tail = run.captured.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        run.stop = (Verdict.JUDGE_ERROR, "the sandbox failed to start: " + " | ".join(tail))
    elif run.stop is not None and run.stop[0] == Verdict.RUNTIME_ERROR \
            and _out_of_memory(run.captured):
        run.stop = (Verdict.MEMORY_LIMIT_EXCEEDED,
                    f"over the memory limit of {job.memory_mb} MB: killed")
    return run


def make_job(problem: Problem, submission: Path, calls: list[dict[str, Any]]) -> Job:
    limits = problem.spec.limits
    return Job(submission, problem.spec.function.name, calls, limits.time_per_test_s,
               limits.total_time_s, limits.memory_mb, int(limits.output_mb * 1024 * 1024),
               limits.startup_s, tmp_mb=limits.tmp_mb)
