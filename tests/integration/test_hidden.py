"""Hidden means hidden: attacks that try to read a hidden test's inputs or expected outputs out
of what a learner is shown, through the real sandbox of each backend."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from grader.cli import main
from grader.data.expected import expected_outputs
from grader.judging.judge import grade_submission
from grader.model.problems import Problem
from grader.model.report import Report
from grader.sandbox.protocol import Sandbox
from tests import specs
from tests.specs import SECRET_DIGITS

pytestmark = pytest.mark.usefixtures("clean_after")

# All a learner reads of a hidden test: what its verdict decides and the spec fixes.
HIDDEN_KEYS = {"name", "verdict", "visible", "points", "statistical"}

CORRECT = "import base64, sys\nimport numpy as np\n" + specs.CORRECT


def learner_view(report: Report, reveal: bool = False) -> str:
    """Everything a reader is shown: the JSON object and the text report."""
    buffer = io.StringIO()
    report.render(Console(file=buffer, width=200, color_system=None), reveal=reveal)
    text = buffer.getvalue()
    return json.dumps(report.to_dict(reveal=reveal)) + "\n" + text


def secrets(problem: Problem) -> list[str]:
    """The hidden inputs' digits, and every hidden expected value to four figures."""
    found = list(SECRET_DIGITS)
    for case, want in zip(problem.tests, expected_outputs(problem), strict=True):
        if not case.visible:
            found += [f"{v:.4g}".lstrip("-") for v in want.ravel() if abs(v) > 1e-3]
    return found


def leaked(problem: Problem, text: str) -> list[str]:
    return [s for s in secrets(problem) if s in text]


def grade(problem: Problem, tmp_path: Path, sandbox: Sandbox, body: str) -> Report:
    path = tmp_path / "attack.py"
    path.write_text(CORRECT + body)
    return grade_submission(problem, path, sandbox)


# And against a jail started ahead: its header and calls come over the same channel, later.
@pytest.mark.parametrize("sandbox", ["local", "docker", "ready"], indirect=True)
def test_printing_every_argument_shows_only_the_visible_ones(
        hidden_problem: Problem, tmp_path: Path, sandbox: Sandbox) -> None:
    report = grade(hidden_problem, tmp_path, sandbox, '''
def reinforce_grad(seed, logits, reward_table, n_samples):
    print("ARGS", seed, logits.tolist(), reward_table.tolist(), flush=True)
    return np.zeros_like(logits)
''')
    assert report.verdict == "wrong_answer"
    view = learner_view(report)
    assert leaked(hidden_problem, view) == []
    assert "ARGS 0.0 [0.0, 0.0]" in view  # visible tests' output is still shown
    # An instructor sees it all: the same check finds the secrets there, so it can find them.
    assert leaked(hidden_problem, learner_view(report, reveal=True)) != []
    hidden = [t for t in report.to_dict()["tests"] if not t["visible"]]
    # Not even the size of the error: to one figure, it carried ~8 bits the code chose.
    assert hidden and all(set(t) == HIDDEN_KEYS for t in hidden), hidden


def test_the_runner_holds_no_hidden_input_the_learner_can_find_at_import(
        hidden_problem: Problem, tmp_path: Path, sandbox: Sandbox) -> None:
    report = grade(hidden_problem, tmp_path, sandbox, '''
frame = sys._getframe()
while frame is not None:
    for name, value in list(frame.f_locals.items()):
        if isinstance(value, dict) and name != "namespace":
            print("JOB", name, sorted(value), flush=True)
            for test in value.get("tests", []):
                print("STOLEN", [np.frombuffer(base64.b64decode(v["b64"]), v["dtype"]).tolist()
                                 if isinstance(v, dict) else v for v in test.values()],
                      flush=True)
    frame = frame.f_back


def reinforce_grad(seed, logits, reward_table, n_samples):
    return np.zeros_like(logits)
''')
    view = learner_view(report)
    assert "JOB job" in view, view  # the attack ran, and its output is shown
    assert leaked(hidden_problem, view) == []


# Local only (tests/integration/backends.py): what an exception shows is the host's to decide.
@pytest.mark.parametrize("sandbox", ["local"], indirect=True)
def test_an_exception_carrying_hidden_inputs_shows_only_its_verdict(
        hidden_problem: Problem, tmp_path: Path, sandbox: Sandbox) -> None:
    report = grade(hidden_problem, tmp_path, sandbox, '''
SEEN = []

def reinforce_grad(seed, logits, reward_table, n_samples):
    SEEN.append((seed, logits.tolist(), reward_table.tolist()))
    print("SEEN", SEEN, flush=True)
    if len(SEEN) > 1:
        raise ValueError(repr(SEEN))
    return correct(seed, logits, reward_table, n_samples)
''')
    view = learner_view(report)
    assert leaked(hidden_problem, view) == []
    by_name = {t["name"]: t for t in report.to_dict()["tests"]}
    assert by_name["secret_one"]["verdict"] == "runtime_error"
    # Not even the class's name: which built-in one it raised is the learner's code's choice.
    assert set(by_name["secret_one"]) == HIDDEN_KEYS
    assert "ValueError" not in json.dumps([t for t in by_name.values() if not t["visible"]])
    # Visible tests run first, so a visible failure's trace is the learner's own and is shown.
    assert "ValueError" in by_name["shown_after_a_secret"]["message"]


def test_a_value_stashed_from_a_hidden_test_never_returns_in_a_visible_one(
        hidden_problem: Problem, tmp_path: Path, sandbox: Sandbox) -> None:
    report = grade(hidden_problem, tmp_path, sandbox, '''
PREVIOUS = []

def reinforce_grad(seed, logits, reward_table, n_samples):
    same = [p for p in PREVIOUS if p.shape == logits.shape]
    PREVIOUS.append(np.concatenate([logits, reward_table]).reshape(2, -1)[0] * 0 + logits)
    PREVIOUS.append(reward_table.copy())
    return same[-1] if same else np.zeros_like(logits)
''')
    assert leaked(hidden_problem, learner_view(report)) == []


# Local only (tests/integration/backends.py): what an exception shows is the host's to decide.
@pytest.mark.parametrize("sandbox", ["local"], indirect=True)
def test_a_custom_exception_class_name_is_not_shown(
        hidden_problem: Problem, tmp_path: Path, sandbox: Sandbox) -> None:
    report = grade(hidden_problem, tmp_path, sandbox, '''
def reinforce_grad(seed, logits, reward_table, n_samples):
    digits = "".join(c for c in f"{float(logits[0]):.7f}" if c.isdigit())
    raise type("Leak" + digits, (Exception,), {})("x")
''')
    assert leaked(hidden_problem, learner_view(report)) == []
    secret = next(t for t in report.to_dict()["tests"] if t["name"] == "secret_one")
    assert set(secret) == HIDDEN_KEYS and secret["verdict"] == "runtime_error"
    assert "Leak" not in json.dumps([t for t in report.to_dict()["tests"] if not t["visible"]])


def test_the_cli_reveals_hidden_tests_only_when_asked(
        hidden_problem: Problem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JAXJUDGE_ROOT", str(hidden_problem.root))
    path = tmp_path / "prints.py"
    path.write_text(CORRECT + '''
def reinforce_grad(seed, logits, reward_table, n_samples):
    print("ARGS", seed, logits.tolist(), reward_table.tolist(), flush=True)
    return np.zeros_like(logits)
''')
    views = {}
    for flags in ([], ["--reveal"]):
        for fmt in ("json", "text"):
            assert main(["grade", "reinforce_grad", str(path), "--format", fmt, *flags]) == 1
            views[(fmt, bool(flags))] = capsys.readouterr().out
    assert leaked(hidden_problem, views[("json", False)] + views[("text", False)]) == []
    learner = json.loads(views[("json", False)])
    assert "hidden_output" not in learner
    assert all(set(t) == HIDDEN_KEYS for t in learner["tests"] if not t["visible"])
    assert "max abs diff" not in "".join(line for line in views[("text", False)].splitlines()
                                         if "(hidden)" in line)
    for fmt in ("json", "text"):
        assert "3141592" in views[(fmt, True)]  # printed during secret_one: instructors see it
