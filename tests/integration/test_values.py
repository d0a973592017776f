"""Issue 20's value kinds end to end through the real bubblewrap sandbox: a tree in, a tuple
(value, tree, ...) out, a key, a bool, a choice, an int that binds a dim and a "T+1" dim.
Every example gets its folder's verdict, each wrong answer's message names the item or leaf,
and frames forged against a structured return are the learner's doing, never a judge crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.cli import main
from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem, signature
from grader.sandbox.container import DockerSandbox
from grader.sandbox.local import LocalSandbox
from grader.verdict import Verdict
from tests.integration.test_channel import EVERY_FD
from tests.specs import VALUES_EXAMPLES, values_problem

pytestmark = pytest.mark.usefixtures("clean_after")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("values")
    values_problem(path)
    return path


@pytest.fixture
def problem(root: Path, monkeypatch: pytest.MonkeyPatch) -> Problem:
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))  # never the user's caches
    monkeypatch.setenv("JAXJUDGE_COMPILE_CACHE", str(root / "xla"))
    return load_problem("tree_step", root)


def test_every_example_gets_its_verdict_and_names_the_leaf(
        problem: Problem, warmed_for: Callable[[Problem], Path]) -> None:
    sandbox = LocalSandbox(compile_cache=warmed_for(problem))  # as a grader's jails read one
    for verdict, stem, _, words in VALUES_EXAMPLES:
        path = problem.submissions_dir / verdict / f"{stem}.py"
        report = grade_submission(problem, path, sandbox)
        text = " | ".join(f"{t.name}: {t.message}" for t in report.tests)
        assert report.verdict == verdict, f"{stem}: {text} {report.output}"
        full = report.to_dict(reveal=True)
        json.dumps(full)  # leaves and trees serialise
        if verdict == Verdict.ACCEPTED:
            assert [t.statistical for t in report.tests].count(True) == 2
            continue
        shown = report.tests[0]
        assert shown.visible and shown.verdict == Verdict.WRONG_ANSWER
        assert words in shown.message, f"{stem}: {shown.message}"
        hidden = [t for t in report.tests if not t.visible and not t.statistical]
        assert any(t.verdict == Verdict.WRONG_ANSWER for t in hidden), stem
        for t in hidden:  # a hidden test says only what the spec declares
            assert t.verdict == Verdict.ACCEPTED or t.summary.startswith(
                ("returned a value whose structure is not the declared one: a tuple (value, "
                 "grads, per_sample, td)", "grads.")), (stem, t.summary)
        learner = report.to_dict()
        if stem == "doubled_bias_grad":  # the relation names its leaf, judged on visible tests
            assert "Your grads.b is 2 times the expected one." in report.feedback, report.feedback
            got = full["tests"][0]["shown"]["got"]
            assert set(got) == {"value", "grads.w", "grads.b", "per_sample", "td"}
            assert full["tests"][0]["shown"]["args"]["params"].keys() == {"w", "b"}
            assert full["tests"][0]["shown"]["args"]["key"] == 0
        assert all("shown" not in t for t in learner["tests"] if not t["visible"])


# Forged frames for a problem whose return has 5 leaves: each is the learner's doing.
FORGE = EVERY_FD + '''
import jax.numpy as jnp

def tree_step(params, key, hard, reduction, n, values, rewards):
    everywhere(FRAME)
    return jnp.zeros(()), params, jnp.zeros((n,)), rewards
'''


@pytest.mark.parametrize("frame", [
    # one leaf where the job declares five: a judge that trusted the count would crash
    b'{"event": "result", "test": 0, "leaves": 1, "dtypes": ["<f4"], "ndims": [0], '
    b'"dims": [], "nbytes": 4}\n\0\0\0\0',
    # dims that promise far more than the payload holds
    b'{"event": "result", "test": 0, "leaves": 5, "dtypes": ["<f4", "<f4", "<f4", "<f4", '
    b'"<f4"], "ndims": [1, 0, 0, 0, 0], "dims": [1099511627776], "nbytes": 4}\n\0\0\0\0',
    # a one-array result for a structured return
    b'{"event": "result", "test": 0, "dtype": "<f4", "shape": [], "nbytes": 4}\n\0\0\0\0',
    # a mismatch whose message is no text
    b'{"event": "mismatch", "test": 0, "message": 5, "nbytes": 0}\n',
], ids=["one_leaf_of_five", "dims_beyond_payload", "one_array_result", "mismatch_not_text"])
def test_forged_structured_frames_are_the_learners_doing(problem: Problem, tmp_path: Path,
                                                          frame: bytes) -> None:
    path = tmp_path / "forge.py"
    path.write_text(f"FRAME = {frame!r}\n" + FORGE)
    report = grade_submission(problem, path, LocalSandbox())
    msg = " | ".join(t.message for t in report.tests)
    assert report.verdict == Verdict.RUNTIME_ERROR, msg
    assert "result channel" in msg


def test_verify_proves_the_spec_and_reference(root: Path, problem: Problem,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JAXJUDGE_ROOT", str(root))
    assert main(["verify", "tree_step", "--skip-examples"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "tree_step" in out
    assert main(["show", "tree_step"]) == 0
    assert "expected = " in capsys.readouterr().out
    assert signature(problem) == (
        "tree_step(params: {w: float32[D, H], b: float32[H]}, key: key, hard: bool, "
        "reduction: 'mean' | 'sum', n: int (= N), values: float32[T+1], rewards: float32[T]) "
        "-> (value: float32[], grads: like params, per_sample: float32[N], td: float32[T])")


def _image_runner(sandbox: DockerSandbox) -> bytes:
    """The runner.py inside the runner image, read through the sandbox's own client."""
    out = sandbox.client.containers.run(sandbox.image, entrypoint=["cat", "/judge/runner.py"],
                                        remove=True, network_mode="none")
    return out if isinstance(out, bytes) else b""


def test_docker_grades_every_kind_or_names_its_stale_image(
        problem: Problem, docker_sandbox: DockerSandbox) -> None:
    """Through the runner image: the folder's verdicts when the image holds this runner; when
    it predates tuple and tree returns (it would stack them), a judge_error that says to
    rebuild it, never a verdict blaming the learner."""
    here = (ROOT / "grader" / "sandbox" / "runner.py").read_bytes()
    current = _image_runner(docker_sandbox) == here
    for verdict, stem in [("accepted", "reference_copy"), ("wrong_answer", "stacked")]:
        report = grade_submission(problem, problem.submissions_dir / verdict / f"{stem}.py",
                                  docker_sandbox)
        if current:
            assert report.verdict == verdict, stem
        else:
            assert report.verdict == Verdict.JUDGE_ERROR, stem
            assert "rebuild the runner image" in report.tests[0].message


def test_a_leaf_of_absurd_rank_is_a_wrong_answer_not_a_forged_channel(
        problem: Problem, tmp_path: Path) -> None:
    """A leaf of 40 dims would overflow the result header: the runner says so as a structure
    mismatch, so the learner reads a wrong shape, not that they wrote into the channel."""
    path = tmp_path / "rank.py"
    path.write_text('''
import jax.numpy as jnp

def tree_step(params, key, hard, reduction, n, values, rewards):
    return jnp.zeros((1,) * 40), params, jnp.zeros((n,)), rewards
''')
    report = grade_submission(problem, path, LocalSandbox())
    assert report.verdict == Verdict.WRONG_ANSWER
    assert "far more dims than declared" in report.tests[0].message
