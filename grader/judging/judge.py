"""grade_submission: expected outputs from the trusted reference, the submission in a sandbox."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.data.expected import expected_outputs
from grader.data.transformed import expected_rows
from grader.errors import SubmissionRefused
from grader.judging.execution import (
    MISMATCH,
    Outcome,
    Run,
    Stop,
    environment,
    make_job,
    run_calls,
    tagged,
)
from grader.judging.feedback import advice, remember_example
from grader.judging.function_checks import failed_under, judge_row
from grader.judging.pictures import picture
from grader.judging.statistics import (
    check_calls,
    evaluate,
    output_shape,
    trusted_data,
    z_threshold,
)
from grader.model.checks import StatisticalCheck
from grader.model.inputs import TestCase
from grader.model.problems import Problem
from grader.model.report import Report, TestResult
from grader.model.submission import Submission, read_submission, staged
from grader.model.transforms import CheckRow
from grader.model.values import Output, compare_output, describe
from grader.sandbox.protocol import Sandbox
from grader.verdict import Verdict

# A line of the report: a fixed-seed test, a statistical check, or a function check on a test.
Unit = TestCase | StatisticalCheck | CheckRow


@dataclass(frozen=True)
class Plan:
    """All calls of a grade in run order, and which of them each unit (in report order) judges.

    Visible units run first: a hidden input reaches the jail only after every visible result
    and everything printed so far is in the judge's hands, so nothing shown to a learner can
    depend on a hidden input. Checks on the same inputs and seeds share their calls; a check's
    calls form a group that stops at its first failed call."""

    calls: list[dict[str, Any]]
    spans: list[range]
    public: int
    groups: tuple[int | None, ...]
    leaves: tuple[tuple[str, ...] | None, ...] = ()  # per call: a function check's result's


def units(problem: Problem) -> list[Unit]:
    return [*problem.tests, *problem.spec.statistics, *problem.check_rows]


def plan(problem: Problem) -> Plan:
    every = units(problem)
    calls: list[dict[str, Any]] = []
    groups: list[int | None] = []
    leaves: dict[int, tuple[str, ...]] = {}
    spans: dict[int, range] = {}
    shared: dict[str, range] = {}
    public = 0
    for u in sorted(range(len(every)), key=lambda u: not every[u].visible):  # stable
        if not every[u].visible and not public:
            public = len(calls)
        unit = every[u]
        if isinstance(unit, CheckRow):
            leaves[len(calls)] = unit.leaf_paths
        if isinstance(unit, TestCase | CheckRow):
            spans[u] = range(len(calls), len(calls) + 1)
            calls.append(tagged(unit.args, unit.call) if isinstance(unit, TestCase)
                         else unit.call)
            groups.append(None)
            continue
        key = json.dumps([unit.call, unit.seed_param, unit.seeds, unit.seed_offset, unit.args],
                         sort_keys=True)
        if key not in shared:
            more = [tagged(c, unit.call) for c in check_calls(problem.spec, unit)]
            shared[key] = range(len(calls), len(calls) + len(more))
            calls += more
            groups += [len(shared) - 1] * len(more)
        spans[u] = shared[key]
    if all(unit.visible for unit in every):
        public = len(calls)
    return Plan(calls, [spans[u] for u in range(len(every))], public, tuple(groups),
                tuple(leaves.get(i) for i in range(len(calls))) if leaves else ())


def blame(run: Run, spans: list[range]) -> int | None:
    """The unit a run that ended early is charged to: the one whose call was under way, else the
    one holding the first call (in run order) that never returned."""
    missing = run.current
    if missing is None:
        total = max((s.stop for s in spans), default=0)
        missing = next((i for i in range(total) if i not in run.outcomes), None)
    return next((u for u, span in enumerate(spans) if missing in span), None)


def grade_submission(problem: Problem, submission: Submission | Path, sandbox: Sandbox,
                     advise: bool = True,
                     on_test: Callable[[int, TestResult], None] | None = None,
                     visible_only: bool = False) -> Report:
    """Grades one learner file; learner mistakes come back as verdicts, never as exceptions.

    A path is read first (SubmissionRefused for anything but a small UTF-8 regular file); the
    sandbox it is given (it never makes one) runs a private copy of the bytes, and the report
    names the submission as given.
    `on_test(u, result)` hears each unit's result (u in report order) as soon as it is judged:
    visible units first, then hidden ones, then whatever the end of the run decided.

    `visible_only` grades a Run: the visible tests and checks only. The jail is sent the
    visible calls alone (a hidden input never reaches it), and the report holds the visible
    units alone, marked `run`; `on_test`'s u is then the index in that report.
    """
    source = submission if isinstance(submission, Submission) else read_submission(submission)
    try:
        code, notes = source.python()  # a notebook's code cells
    except SubmissionRefused as exc:  # a notebook stored before intake checked them
        return _refused(problem, source.name, str(exc), sandbox, visible_only)
    with staged(code, sandbox.jail_uid) as copy:
        report = _grade(problem, copy, sandbox, advise, on_test, visible_only, code.source)
    report.submission = source.name
    report.feedback = [*notes, *report.feedback]
    return report


def _refused(problem: Problem, name: str, why: str, sandbox: Sandbox,
             visible_only: bool = False) -> Report:
    """A submission that never reached the jail (a notebook that cannot be graded): a compile
    error naming why, as a file Python cannot compile would be."""
    every = [u for u in units(problem) if u.visible or not visible_only]
    tests = [TestResult(u.name, Verdict.COMPILE_ERROR, u.visible, u.points,
                        message=why if i == 0 else f"not run: see {every[0].name}",
                        summary=why if i == 0 else f"not run: see {every[0].name}")
             for i, u in enumerate(every)]
    return Report(problem.id, name, tests, [], environment(sandbox.name), 0.0, run=visible_only)


def _grade(problem: Problem, submission: Path, sandbox: Sandbox, advise: bool,
           on_test: Callable[[int, TestResult], None] | None, visible_only: bool,
           code: bytes) -> Report:
    start = time.monotonic()
    expected = [*expected_outputs(problem), *[None] * len(problem.spec.statistics),
                *expected_rows(problem)]
    p = plan(problem)
    every = units(problem)
    # The units this grade reports, in report order: all, or for a Run the visible ones. Their
    # calls are the plan's first `sent` (visible units run first), and a Run's jail gets those
    # alone: no hidden input is ever written to it.
    shown = [u for u in range(len(every)) if every[u].visible or not visible_only]
    sent = max((p.spans[u].stop for u in shown), default=0) if visible_only else len(p.calls)
    place = {u: k for k, u in enumerate(shown)}
    z_star = z_threshold(problem.spec)
    results: dict[int, TestResult] = {}
    finishing: dict[int, list[int]] = {}  # a unit is complete once its last call returns
    for u, span in enumerate(p.spans):
        finishing.setdefault(span[-1], []).append(u)
    shapes: dict[int, dict[str, tuple[int, ...]]] = {}  # a check's calls: per leaf it judges
    for unit, span in zip(every, p.spans, strict=True):  # (checks share calls), its shape
        if not isinstance(unit, TestCase | CheckRow):
            for i in span:
                shapes.setdefault(i, {})[unit.output or ""] = output_shape(problem.spec, unit)

    def judged(u: int, run: Run) -> None:
        got = [run.outcomes.get(i) for i in p.spans[u]]
        culprit = blame(run, p.spans) if any(o is None for o in got) else None
        first = every[culprit].name if culprit is not None else ""
        results[u] = _judge_unit(problem, every[u], got, expected, u, run.stop,
                                 (u == culprit, first), z_star)
        if on_test is not None and u in place:
            on_test(place[u], results[u])

    def arrived(call: int, run: Run) -> None:
        outcome = run.outcomes[call]
        got = outcome.array
        if isinstance(got, dict) and call in shapes:
            outcome.array = {leaf: _held(got[leaf], shape) for leaf, shape in shapes[call].items()}
        elif got is not None and call in shapes:
            outcome.array = _held(got, shapes[call][""])
        for u in finishing.get(call, []):
            if u in place and all(i in run.outcomes for i in p.spans[u]):
                judged(u, run)

    run = run_calls(sandbox, make_job(problem, submission, p.calls[:sent],
                                      sent if visible_only else p.public,
                                      p.groups[:sent], p.leaves[:sent]), arrived)
    for u in shown:
        if u not in results:
            judged(u, run)
    outputs = {t: o.array for t, span in enumerate(p.spans)
               if t in place and isinstance(every[t], TestCase | CheckRow)
               and (o := run.outcomes.get(span[0])) is not None and o.array is not None}
    report = Report(problem.id, str(submission), [results[u] for u in shown], [],
                    environment(sandbox.name), 0.0, run.capture.public, run.capture.hidden,
                    run=visible_only)
    if advise and run.stop is None and not visible_only:
        remember_example(problem, code, outputs, sandbox)
    if advise and report.verdict != Verdict.ACCEPTED:
        # Advice reads units by their index in the whole problem: a Run's hidden units stand
        # in as passed fixed tests, so that no hint is drawn from a unit that never ran.
        whole = report if not visible_only else Report(
            problem.id, report.submission,
            [results[u] if u in place else TestResult(every[u].name, Verdict.ACCEPTED, False,
                                                       every[u].points)
             for u in range(len(every))], [], report.environment, 0.0)
        report.feedback = advice(problem, whole, outputs, sandbox)
    report.duration_s = time.monotonic() - start
    return report


def _held(array: np.ndarray, want: tuple[int, ...]) -> np.ndarray:
    """A check's result as kept until its check is judged: of one of the wrong shape, which
    fails the check whatever its values, only its shape and dtype (no memory), so that a
    check's hundreds of calls each returning output_mb of data are not all held at once."""
    if array.shape == want:
        return array
    return np.broadcast_to(np.zeros((), array.dtype), array.shape)


def _judge_unit(problem: Problem, unit: Unit, got: list[Outcome | None],
                expected: list[Output], u: int, stop: Stop | None,
                blamed: tuple[bool, str], z_star: float) -> TestResult:
    result = TestResult(unit.name, Verdict.ACCEPTED, unit.visible, unit.points,
                        statistical=not isinstance(unit, TestCase | CheckRow))
    failed = next(((k, o) for k, o in enumerate(got)
                   if o is not None and o.array is None and not o.skipped), None)
    if failed is not None:
        k, bad = failed
        seed = "" if isinstance(unit, TestCase | CheckRow) else f"seed {unit.seed_offset + k}: "
        result.verdict = bad.verdict
        # The seed is an input of the check, and which call fails is the learner's choice.
        result.message, result.summary = seed + bad.message, bad.summary
        if bad.summary == MISMATCH:  # what was declared is the spec's: a hidden test shows it
            fn = problem.spec.entry(None if isinstance(unit, CheckRow) else unit.call)
            result.summary = f"{MISMATCH}: {describe(fn)}"
        if isinstance(unit, CheckRow):
            failed_under(unit, result, bad)
    elif any(o is None for o in got):
        _not_run(result, stop, *blamed)
    elif isinstance(unit, TestCase):
        assert got[0] is not None
        _judge_test(problem, unit, result, got[0], expected[u])
    elif isinstance(unit, CheckRow):
        assert got[0] is not None
        judge_row(problem, unit, result, got[0].array, expected[u])
    else:
        arrays = [o.array[unit.output or ""] if isinstance(o.array, dict) else o.array
                  for o in got if o is not None and o.array is not None]
        trusted = trusted_data(problem, unit)
        result.verdict, result.message = evaluate(problem, unit, arrays, trusted, z_star)
        if unit.visible:  # a hidden check's numbers are the learner's code on hidden inputs
            result.plot = picture(problem, unit, arrays, trusted, z_star)
    if isinstance(unit, TestCase) and unit.step is not None and result.verdict != Verdict.ACCEPTED:
        result.message = f"step {unit.step} ({unit.call}): {result.message}"
        result.summary = f"step {unit.step} ({unit.call}): {result.summary}"
    return result


def _not_run(result: TestResult, stop: Stop | None, culprit: bool, culprit_name: str) -> None:
    """A unit without all its results: the run ended before them."""
    if stop is None:  # the sandbox said `done` with calls missing: never the learner's doing
        result.verdict, result.message = Verdict.JUDGE_ERROR, "no result came back for this test"
        result.summary = result.message
    elif culprit:
        result.verdict, result.message, result.summary = stop.verdict, stop.message, stop.summary
    else:
        result.verdict = stop.verdict
        result.message = result.summary = (
            f"not run: see {culprit_name}" if stop.verdict == Verdict.COMPILE_ERROR and
            culprit_name else "not run: another test ended the submission")


def _judge_test(problem: Problem, case: TestCase, result: TestResult, outcome: Outcome,
                want: Output) -> None:
    assert outcome.array is not None
    c = compare_output(outcome.array, want, problem.spec.entry(case.call),
                       problem.spec.tolerance, dict(case.args))
    result.verdict, result.message, result.details = c.verdict, c.message, c.details
    result.summary = c.summary
    result.max_abs_diff, result.max_rel_diff, result.ratio = c.max_abs_diff, c.max_rel_diff, c.ratio
    if c.verdict != Verdict.ACCEPTED:
        result.shown = {"args": dict(case.args), "expected": want, "got": outcome.array}
