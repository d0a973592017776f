"""Hidden statistical checks: what a learner reads of one holds none of its inputs, seeds
included, through the real sandbox."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from grader.judging.judge import grade_submission
from grader.model.problems import Problem
from grader.sandbox.local import LocalSandbox
from tests.specs import CORRECT, HIDDEN_SPEC, reinforce_problem

pytestmark = pytest.mark.usefixtures("clean_after")

# One visible test, one hidden check whose seeds (4242000, ...) are its inputs like any other.
SPEC = HIDDEN_SPEC.split("tests:")[0] + """\
tests:
  - name: shown_first
    visible: true
    args: {seed: 0.0, logits: [0.0, 0.0], reward_table: [10.0, 0.0], n_samples: 1000.0}
statistics:
  - name: secret_check
    kind: mean_z
    visible: false
    args: {logits: [0.7071067, -0.3], reward_table: [1.0, -2.0], n_samples: 10.0}
    seeds: 20
    seed_offset: 4242000
    expectation: expectation
    variance: variance
"""


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    return reinforce_problem(tmp_path_factory.mktemp("hidden_check"), SPEC)


def test_the_seed_a_hidden_check_failed_on_is_not_shown(problem: Problem, compile_cache: Path,
                                                        tmp_path: Path) -> None:
    """The learner picks which call of a hidden check raises: from the seed the report names
    they would read that seed (an input) and whatever number they encoded in the call's index
    (here the first digit of a hidden logit)."""
    path = tmp_path / "attack.py"
    path.write_text(CORRECT + '''
CALLS = []

def reinforce_grad(seed, logits, reward_table, n_samples):
    if float(n_samples) == 10.0:
        CALLS.append(seed)
        if len(CALLS) == 1 + int(10 * float(logits[0])):
            raise ValueError("x")
    return correct(seed, logits, reward_table, n_samples)
''')
    report = grade_submission(problem, path, LocalSandbox(compile_cache=compile_cache))
    check = next(t for t in report.tests if t.name == "secret_check")
    assert check.verdict == "runtime_error"
    assert "4242007" in check.message  # an instructor reads which seed it was
    buffer = io.StringIO()
    report.render(Console(file=buffer, width=200, color_system=None))
    view = json.dumps(report.to_dict()) + "\n" + buffer.getvalue()
    assert "4242" not in view and "0.707" not in view, view
    secret = next(t for t in report.to_dict()["tests"] if t["name"] == "secret_check")
    # Name, verdict and points: not the class of what it raised, which the code chose.
    assert set(secret) == {"name", "verdict", "visible", "points", "statistical"}
    assert secret["verdict"] == "runtime_error" and "ValueError" not in view


def test_a_failed_hidden_check_has_no_picture_nor_any_per_seed_value(
        problem: Problem, compile_cache: Path, tmp_path: Path) -> None:
    """Issue 23: a visible check's report keeps per-seed values for its picture; a hidden
    check's keeps none, not even for instructors (whose page would draw it), however it
    fails: here biased by a hidden logit, which a picture's mean would carry out."""
    path = tmp_path / "biased.py"
    path.write_text(CORRECT + '''
def reinforce_grad(seed, logits, reward_table, n_samples):
    out = correct(seed, logits, reward_table, n_samples)
    return out + logits[0] if float(n_samples) == 10.0 else out
''')
    report = grade_submission(problem, path, LocalSandbox(compile_cache=compile_cache))
    check = next(t for t in report.tests if t.name == "secret_check")
    assert check.verdict == "wrong_answer" and check.statistical
    full = next(t for t in report.to_dict(reveal=True)["tests"] if t["name"] == "secret_check")
    assert check.plot is None and "plot" not in full
    learner = json.dumps(report.to_dict())
    assert "plot" not in learner and "0.707" not in learner and "4242" not in learner
