"""Several entry points through the real sandbox: each test runs the entry it names, a file
missing one entry is a compile error naming it before any call (a hidden-only entry's too), and
what a hidden call of an entry did reaches the learner only as its verdict."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem
from grader.sandbox.local import LocalSandbox
from grader.verdict import Verdict

pytestmark = pytest.mark.usefixtures("clean_after")

ROOT = Path(__file__).resolve().parents[2]
CORRECT = (ROOT / "submissions" / "score_vs_pathwise" / "accepted" / "closed_form.py").read_text()


@pytest.fixture(scope="module")
def two_entries() -> Problem:
    """score_vs_pathwise without its statistical checks: the fixed tests decide here."""
    problem = load_problem("score_vs_pathwise")
    return replace(problem, spec=problem.spec.model_copy(update={"statistics": []}))


def test_a_file_missing_an_entry_is_a_compile_error_naming_it(two_entries: Problem,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "only_score.py"
    path.write_text(CORRECT.split("def pathwise_grad")[0])
    report = grade_submission(two_entries, path, LocalSandbox(), advise=False)
    assert report.verdict == Verdict.COMPILE_ERROR
    first = report.tests[0]
    assert first.message == "your file defines no function named 'pathwise_grad'", first.message
    # Found before any call: the hidden tests are not run, and say only that.
    assert all(t.message == "not run: see worked_example_score" for t in report.tests[1:])


# pathwise_grad raises, on every call, an exception class named after its inputs.
ATTACK = CORRECT.split("def pathwise_grad")[0] + '''
def pathwise_grad(seed, mu, sigma, n_samples):
    tag = "Leak_" + "_".join(str(int(1000 * abs(float(v)))) for v in mu)
    raise type(tag, (Exception,), {})(tag)
'''


def test_each_test_runs_its_entry_and_a_hidden_calls_failure_shows_only_its_verdict(
        two_entries: Problem, tmp_path: Path) -> None:
    path = tmp_path / "attack.py"
    path.write_text(ATTACK)
    report = grade_submission(two_entries, path, LocalSandbox(), advise=False)
    verdicts = {t.name: t.verdict for t in report.tests}
    calls = {c.name: c.call for c in two_entries.tests}
    assert {n for n, v in verdicts.items() if v == Verdict.ACCEPTED} == \
        {n for n, c in calls.items() if c == "score_grad"}, verdicts
    assert {verdicts[n] for n, c in calls.items() if c == "pathwise_grad"} == \
        {Verdict.RUNTIME_ERROR}
    shown = next(t for t in report.tests if t.name == "worked_example_pathwise")
    assert "Leak_1000_500" in shown.message  # a visible test's own inputs: the learner's to see
    learner = report.to_dict()
    hidden = [t for t in learner["tests"] if t["name"] == "hidden_2"]
    assert hidden == [{"name": "hidden_2", "verdict": "runtime_error", "visible": False,
                       "points": 1.0, "statistical": False}]
    # hidden_2's mu is [-1.5, 0.25]: its tag would be Leak_1500_250.
    assert "1500_250" not in json.dumps(learner), learner
