"""Trusted precomputation: the persistent XLA cache (read-only to submissions), expected outputs,
statistical baselines and diagnosis outputs."""

from __future__ import annotations

from pathlib import Path

from grader.execution import make_job, run_calls
from grader.expected import compile_cache_dir, expected_outputs
from grader.feedback import example_outputs
from grader.judge import plan
from grader.problems import Problem
from grader.sandbox import LocalSandbox, Sandbox
from grader.statistics import trusted_data
from grader.verdict import Verdict

__all__ = ["compile_cache_dir", "prepare", "warm"]


def prepare(problem: Problem, sandbox: Sandbox) -> None:
    """Trusted work every grade needs, done once before the workers start."""
    expected_outputs(problem)
    for check in problem.spec.statistics:
        trusted_data(problem, check)
    for diagnosis in problem.spec.diagnoses:
        example = problem.submissions_dir / diagnosis.example
        if example.is_file():
            example_outputs(problem, example, sandbox)


def warm(problem: Problem, folder: Path | None = None) -> list[str]:
    """Compiles what learners will compile: the reference and every accepted example, unsandboxed
    (trusted instructor code), over every call of a grade; and prepares the rest. Returns what
    failed to run."""
    folder = folder or compile_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    trusted = LocalSandbox(unsandboxed=True, compile_cache=folder)
    prepare(problem, trusted)
    calls = plan(problem).calls
    problems = []
    for path in [problem.reference_path, *sorted(problem.submissions_dir.glob("accepted/*.py"))]:
        run = run_calls(trusted, make_job(problem, path, calls))
        if run.stop is not None or len(run.outcomes) != len(calls) or any(
                o.verdict != Verdict.ACCEPTED for o in run.outcomes.values()):
            problems.append(f"{path}: did not run every call ({run.stop})")
    return problems
