"""The judge over a scripted sandbox: run order, live results, and whom an early end blames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from grader.judging.execution import Outcome, Run
from grader.judging.judge import blame, grade_submission, plan
from grader.model.problems import Problem
from grader.model.report import TestResult
from grader.model.submission import Submission
from grader.sandbox.capture import Capture
from grader.sandbox.frames import Event
from grader.sandbox.protocol import Job
from grader.verdict import Verdict
from tests.specs import hidden_tests_problem


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    return hidden_tests_problem(tmp_path_factory.mktemp("judge"))


class Scripted:
    """A fake sandbox: returns zeros for every call, or stops at call `kill_at` with a kill."""

    name = "scripted"
    jail_uid: int | None = None

    def __init__(self, kill_at: int | None = None) -> None:
        self.kill_at = kill_at
        self.jobs: list[Job] = []

    def run(self, job: Job, capture: Capture) -> Iterator[Event]:
        self.jobs.append(job)
        yield Event("ready")
        for i, call in enumerate(job.tests):
            if i == job.n_public:
                capture.mark_hidden()
            yield Event("start", i)
            if i == self.kill_at:
                yield Event("killed", header={"reason": "timeout"})
                return
            yield Event("result", i, array=np.zeros_like(call["logits"]))
        yield Event("done")


def test_visible_units_run_first_and_hidden_calls_come_last(problem: Problem) -> None:
    p = plan(problem)
    names = [u.name for u in [*problem.tests, *problem.spec.statistics]]
    # report order: shown_first, secret_one, shown_after_a_secret, secret_two, unbiased
    starts = {names[u]: span.start for u, span in enumerate(p.spans)}
    assert starts["shown_first"] < starts["shown_after_a_secret"] < starts["unbiased"] \
        < starts["secret_one"] < starts["secret_two"]
    assert p.public == starts["secret_one"] == 2 + 20
    assert p.groups[:2] == (None, None) and set(p.groups[2:22]) == {0}


def test_each_result_is_heard_once_as_it_is_judged(problem: Problem, tmp_path: Path) -> None:
    heard: list[tuple[int, TestResult]] = []
    report = grade_submission(problem, Submission("x.py", b""), Scripted(), advise=False,
                              on_test=lambda u, r: heard.append((u, r)))
    assert [u for u, _ in heard] == [0, 2, 4, 1, 3]  # the run order of the units
    assert [r for _, r in sorted(heard, key=lambda h: h[0])] == report.tests


def test_a_kill_blames_the_unit_under_way_and_spares_those_before(problem: Problem,
                                                                  tmp_path: Path) -> None:
    p = plan(problem)
    secret_two = p.spans[3].start
    report = grade_submission(problem, Submission("x.py", b""), Scripted(kill_at=secret_two),
                              advise=False)
    verdicts = {t.name: t.verdict for t in report.tests}
    assert verdicts["secret_two"] == Verdict.TIME_LIMIT_EXCEEDED
    assert verdicts["secret_one"] == Verdict.WRONG_ANSWER  # judged before the kill
    assert report.tests[3].message == "over the time limit: killed"


def test_blame_without_a_call_under_way_names_the_first_missing_call() -> None:
    spans = [range(0, 1), range(3, 4), range(1, 3)]
    run = Run(outcomes={0: Outcome(np.zeros(1))})
    assert blame(run, spans) == 2  # call 1, the first never returned, is the third unit's
    run.current = 3
    assert blame(run, spans) == 1
    assert blame(Run(outcomes={i: Outcome(np.zeros(1)) for i in range(4)}), spans) is None


class StillBorn(Scripted):
    """Its first `failures` jails end before their runner is ready, as an engine's hiccup does."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def run(self, job: Job, capture: Capture) -> Iterator[Event]:
        if len(self.jobs) < self.failures:
            self.jobs.append(job)
            yield Event("killed", header={"reason": "exit", "code": 0})
            return
        yield from super().run(job, capture)


def test_a_jail_that_dies_before_it_is_ready_is_tried_once_more(problem: Problem,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "s.py"
    path.write_text("def reinforce_grad(seed, logits, reward_table, n_samples): pass\n")
    once = StillBorn(failures=1)
    report = grade_submission(problem, path, once)
    assert len(once.jobs) == 2 and report.verdict != Verdict.JUDGE_ERROR
    twice = StillBorn(failures=2)
    report = grade_submission(problem, path, twice)
    assert len(twice.jobs) == 2 and report.verdict == Verdict.JUDGE_ERROR  # no third try
    assert "the sandbox failed to start" in report.tests[0].message


def test_a_run_sends_the_jail_the_visible_calls_only_and_reports_the_visible_units(
        problem: Problem) -> None:
    sandbox, heard = Scripted(), list[tuple[int, TestResult]]()
    report = grade_submission(problem, Submission("x.py", b""), sandbox, advise=False,
                              on_test=lambda u, r: heard.append((u, r)), visible_only=True)
    job = sandbox.jobs[0]
    assert len(job.tests) == job.n_public == plan(problem).public == 22  # all released at once
    hidden = [dict(t.args) for t in problem.tests if not t.visible]
    assert not [c for c in job.tests for h in hidden
                if np.array_equal(np.asarray(c["logits"]), np.asarray(h["logits"]))]
    assert [t.name for t in report.tests] == ["shown_first", "shown_after_a_secret", "unbiased"]
    assert report.to_dict()["run"] is True
    assert [u for u, _ in heard] == [0, 1, 2]  # indices in the Run's own report
