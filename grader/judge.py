"""grade_submission: expected outputs from the trusted reference, the submission in a sandbox."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from grader.compare import compare
from grader.execution import Outcome, environment, make_job, run_calls
from grader.expected import compile_cache_dir, expected_outputs
from grader.feedback import advice
from grader.inputs import TestCase
from grader.problems import Problem
from grader.report import Report, TestResult
from grader.sandbox import LocalSandbox, Sandbox
from grader.spec import StatisticalCheck
from grader.statistics import check_calls, evaluate, trusted_data, z_threshold
from grader.submission import Submission, read_submission, staged
from grader.verdict import Verdict


def plan(problem: Problem) -> tuple[list[dict[str, Any]], list[range]]:
    """All calls of a grade, and which of them each report line (test, then check) judges.

    Checks on the same inputs and seeds share their calls.
    """
    calls: list[dict[str, Any]] = [c.args for c in problem.tests]
    spans = [range(i, i + 1) for i in range(len(calls))]
    shared: dict[str, range] = {}
    for check in problem.spec.statistics:
        key = json.dumps([check.seed_param, check.seeds, check.seed_offset, check.args],
                         sort_keys=True)
        if key not in shared:
            start = len(calls)
            calls += check_calls(problem.spec, check)
            shared[key] = range(start, len(calls))
        spans.append(shared[key])
    return calls, spans


def grade_submission(problem: Problem, submission: Submission | Path,
                     sandbox: Sandbox | None = None, advise: bool = True) -> Report:
    """Grades one learner file; learner mistakes come back as verdicts, never as exceptions.

    A path is read first (SubmissionRefused for anything but a small UTF-8 regular file); the
    sandbox runs a private copy of the bytes, and the report names the submission as given.
    """
    source = submission if isinstance(submission, Submission) else read_submission(submission)
    sandbox = sandbox or LocalSandbox(compile_cache=compile_cache_dir())
    with staged(source, sandbox.jail_uid) as copy:
        report = _grade(problem, copy, sandbox, advise)
    report.submission = source.name
    return report


def _grade(problem: Problem, submission: Path, sandbox: Sandbox, advise: bool) -> Report:
    start = time.monotonic()
    cases = problem.tests
    expected = expected_outputs(problem)
    calls, spans = plan(problem)
    run = run_calls(sandbox, make_job(problem, submission, calls))
    units: list[TestCase | StatisticalCheck] = [*cases, *problem.spec.statistics]
    culprit = next((u for u, span in enumerate(spans) if run.current in span), None)
    if culprit is None:
        culprit = next((u for u, span in enumerate(spans)
                        if any(i not in run.outcomes for i in span)), None)
    z_star = z_threshold(problem.spec)
    tests = []
    for u, (unit, span) in enumerate(zip(units, spans, strict=True)):
        got = [run.outcomes.get(i) for i in span]
        result = TestResult(unit.name, Verdict.ACCEPTED, unit.visible, unit.points,
                            statistical=not isinstance(unit, TestCase))
        if any(o is None for o in got):
            if run.stop is None:
                result.verdict, result.message = (Verdict.RUNTIME_ERROR,
                                                  "no result came back for this test")
            elif u == culprit or run.stop[0] == Verdict.COMPILE_ERROR:
                result.verdict, result.message = run.stop
            else:
                result.verdict = run.stop[0]
                result.message = "not run: an earlier test ended the submission"
        elif isinstance(unit, TestCase):
            outcome = got[0]
            assert outcome is not None
            _judge_test(problem, unit, result, outcome, expected[u])
        else:
            failed = next(((k, o) for k, o in enumerate(got)
                           if o is not None and o.array is None), None)
            if failed is not None:
                k, bad = failed
                result.verdict = bad.verdict
                result.message = f"seed {unit.seed_offset + k}: {bad.message}"
            else:
                arrays = [o.array for o in got if o is not None and o.array is not None]
                result.verdict, result.message = evaluate(
                    problem, unit, arrays, trusted_data(problem, unit), z_star)
        tests.append(result)
    outputs = {i: o.array for i, o in run.outcomes.items()
               if i < len(cases) and o.array is not None}
    report = Report(problem.id, str(submission), tests, [], environment(sandbox.name), 0.0,
                    (run.captured.stdout + run.captured.stderr).decode("utf-8", "replace"))
    if advise and report.verdict != Verdict.ACCEPTED:
        report.feedback = advice(problem, report, outputs, sandbox)
    report.duration_s = time.monotonic() - start
    return report


def _judge_test(problem: Problem, case: TestCase, result: TestResult, outcome: Outcome,
                want: np.ndarray) -> None:
    if outcome.array is None:
        result.verdict, result.message = outcome.verdict, outcome.message
        return
    c = compare(outcome.array, want, problem.spec.function.returns.dtype, problem.spec.tolerance,
                dict(case.args))
    result.verdict, result.message, result.details = c.verdict, c.message, c.details
    result.max_abs_diff, result.max_rel_diff, result.ratio = c.max_abs_diff, c.max_rel_diff, c.ratio
    if case.visible and c.verdict != Verdict.ACCEPTED:
        result.shown = {**case.args, "expected": want, "got": outcome.array}
