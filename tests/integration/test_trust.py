"""Trusted means trusted: only staff code runs unsandboxed to warm the compile cache, and no cache
keeps a judge fault or anything an unisolated grade produced.

These tests import only what the code before grader/cache.py also had, so each attack runs (and
fails) there too; cache folders are found through the environment, not the cache module.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from grader.batch.class_grading import grade_many
from grader.cli import main
from grader.data.cache import compile_cache_dir
from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem
from grader.sandbox.cgroup import Group
from grader.sandbox.factory import make_sandbox
from grader.sandbox.local import LocalSandbox
from grader.sandbox.protocol import Sandbox
from grader.sandbox.ready import LimitsKey
from grader.tools.warm import compile_programs, warm

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "submissions" / "reinforce_grad"

# A correct solution that, wherever it runs with the judge's rights, leaves a mark at MARKER.
# In a jail the path does not exist (private /tmp): the write fails quietly.
MARKING = '''
MARKER = {marker!r}
try:
    with open(MARKER, "w") as f:
        f.write("ran outside any jail")
except OSError:
    pass
'''


def _example(problem_root: Path, where: str, source: Path, marker: Path) -> Path:
    path = problem_root / "submissions" / "reinforce_grad" / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source.read_text() + MARKING.format(marker=str(marker)))
    return path


def _problem(fast_problem: Problem, tmp_path: Path, name: str, spec_tail: str) -> Path:
    """A copy of the fast problem with `spec_tail` appended to its spec; returns its root."""
    root = tmp_path / name
    shutil.copytree(fast_problem.root, root)
    spec = root / "problems" / "reinforce_grad" / "problem.yaml"
    spec.write_text(spec.read_text() + spec_tail)
    return root


@pytest.fixture
def caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every cache under tmp_path: never the user's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("JAXJUDGE_COMPILE_CACHE", str(tmp_path / "xla"))
    return tmp_path / "cache" / "jaxjudge"


def _entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def test_warm_runs_no_untrusted_example_outside_the_sandbox(
        fast_problem: Problem, tmp_path: Path, caches: Path, clean_after: None) -> None:
    """Donated learner code sits in example folders: as an accepted example, and as a diagnosis
    example. Neither may run with the judge's rights, where it could plant compiled code."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = _problem(fast_problem, tmp_path, "root", (
        "diagnoses:\n  - example: wrong_answer/donated_wrong.py\n"
        "    message: 'Your score differentiates logits[a], not log_softmax(logits)[a].'\n"))
    donated = _example(root, "accepted/donated.py", EX / "accepted" / "onehot_minus_softmax.py",
                       outside / "accepted-ran")
    _example(root, "wrong_answer/donated_wrong.py", EX / "wrong_answer" / "raw_logits.py",
             outside / "diagnosis-ran")
    problem = load_problem("reinforce_grad", root)

    assert warm(problem) == []
    assert sorted(p.name for p in outside.iterdir()) == []
    # The reference still warmed the compile cache; the diagnosis was prepared in the sandbox.
    assert len(_entries(tmp_path / "xla")) > 5
    assert len(_entries(caches / "diagnoses")) == 1
    # The donated example is a fine example: graded in the sandbox, accepted, and still no mark.
    jail = LocalSandbox(compile_cache=compile_cache_dir())
    assert grade_submission(problem, donated, jail).verdict == "accepted"
    assert sorted(p.name for p in outside.iterdir()) == []


def test_a_trusted_example_still_warms_the_compile_cache(
        fast_problem: Problem, tmp_path: Path, caches: Path, clean_after: None) -> None:
    marker = tmp_path / "staff-ran"
    root = _problem(fast_problem, tmp_path, "root", "trusted_examples: [accepted/staff.py]\n")
    _example(root, "accepted/staff.py", EX / "accepted" / "grad_of_surrogate.py", marker)
    with_staff, reference_only = tmp_path / "xla-staff", tmp_path / "xla-reference"
    # warm's compile step (the rest of warm runs no example outside the sandbox: see above).
    assert compile_programs(load_problem("reinforce_grad", root), with_staff) == []
    assert marker.is_file()  # it ran with the judge's rights, as staff code may
    assert compile_programs(fast_problem, reference_only) == []
    # Its own compilations (jax.grad of a surrogate: ops the reference never uses) are cached.
    assert _entries(with_staff) > _entries(reference_only) != set()


def test_verify_fails_on_a_trusted_example_that_is_not_there(
        fast_problem: Problem, tmp_path: Path, caches: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root = _problem(fast_problem, tmp_path, "root", "trusted_examples: [accepted/gone.py]\n")
    monkeypatch.setenv("JAXJUDGE_ROOT", str(root))
    assert main(["verify", "--skip-examples"]) == 1
    out = capsys.readouterr().out
    assert "trusted_examples names 'accepted/gone.py', which is not under" in out
    assert main(["warm"]) == 1


class Stillborn(LocalSandbox):
    """A jail that fails to start: its command exits before the runner says ready, which the
    judge rightly calls its own fault (judge_error)."""

    def command(self, key: LimitsKey, group: Group | None = None, tmp: Path | None = None,
                staging: Path | None = None, uid: int | None = None) -> list[str]:
        return ["/bin/sh", "-c", "echo 'bwrap: cannot create the jail' >&2; exit 1"]


def test_a_judge_error_is_not_cached_and_the_next_grade_runs_again(
        fast_problem: Problem, tmp_path: Path, caches: Path,
        monkeypatch: pytest.MonkeyPatch, clean_after: None) -> None:
    alice = tmp_path / "alice.py"
    shutil.copy(EX / "accepted" / "onehot_minus_softmax.py", alice)
    def stillborn(*_: object, **__: object) -> Sandbox:
        return Stillborn()

    monkeypatch.setattr("grader.batch.class_grading.make_sandbox", stillborn)
    (report,) = grade_many(fast_problem, [alice], jobs=1)
    assert report["verdict"] == "judge_error", report
    assert _entries(caches / "results") == set()
    monkeypatch.setattr("grader.batch.class_grading.make_sandbox", make_sandbox)
    (report,) = grade_many(fast_problem, [alice], jobs=1)
    assert report["verdict"] == "accepted", report
    assert len(_entries(caches / "results")) == 1


def test_an_unsandboxed_batch_grade_neither_stores_nor_reads_a_cache(
        fast_problem: Problem, tmp_path: Path, caches: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], clean_after: None) -> None:
    monkeypatch.setenv("JAXJUDGE_ROOT", str(fast_problem.root))
    alice, bob = tmp_path / "alice.py", tmp_path / "bob.py"
    shutil.copy(EX / "accepted" / "onehot_minus_softmax.py", alice)
    shutil.copy(EX / "wrong_answer" / "raw_logits.py", bob)
    grade = ["grade", "reinforce_grad", str(alice), str(bob), "--format", "json"]

    assert main([*grade, "--unsafe-no-sandbox"]) == 0
    unsafe = json.loads(capsys.readouterr().out)
    assert [r["verdict"] for r in unsafe] == ["accepted", "wrong_answer"]
    assert _entries(caches / "results") == set()
    assert _entries(tmp_path / "xla") == set()  # nor did it write compiled code

    # Isolated grades fill the result cache; mark the entries to see whether they are read.
    assert main(grade) == 0
    capsys.readouterr()
    stored = sorted((caches / "results").iterdir())
    assert len(stored) == 2
    for path in stored:
        path.write_text(json.dumps({**json.loads(path.read_text()), "feedback": ["cached"]}))
    before = {p.name: p.read_bytes() for p in stored}
    assert main([*grade, "--unsafe-no-sandbox"]) == 0
    assert all(r["feedback"] != ["cached"] for r in json.loads(capsys.readouterr().out))
    assert {p.name: p.read_bytes() for p in (caches / "results").iterdir()} == before


def test_a_diagnosis_examples_own_grade_serves_as_its_diagnosis_run(
        fast_problem: Problem, tmp_path: Path, caches: Path, compile_cache: Path,
        clean_after: None) -> None:
    """Grading a diagnosis example (verify and the corpus grade every example) keeps its outputs
    as the example's: the diagnosis then runs no second jail of the same bytes."""
    root = _problem(fast_problem, tmp_path, "root", (
        "diagnoses:\n  - example: wrong_answer/raw.py\n"
        "    message: 'Your score differentiates logits[a], not log_softmax(logits)[a].'\n"))
    example = root / "submissions" / "reinforce_grad" / "wrong_answer" / "raw.py"
    example.parent.mkdir(parents=True)
    shutil.copy(EX / "wrong_answer" / "raw_logits.py", example)
    problem = load_problem("reinforce_grad", root)
    runs: list[object] = []

    class Counting(LocalSandbox):
        def run(self, job: Any, capture: Any) -> Any:
            runs.append(job)
            return super().run(job, capture)

    report = grade_submission(problem, example, Counting(compile_cache=compile_cache))
    assert report.feedback == ["Your score differentiates logits[a], not log_softmax(logits)[a]."]
    assert len(runs) == 1, "the diagnosis ran its example in a second jail"
    assert len(_entries(caches / "diagnoses")) == 1
    # Another file reproducing it is told so from the kept outputs, with no jail of the example.
    other = tmp_path / "copy.py"
    other.write_text(example.read_text() + "\n# the same code\n")
    report = grade_submission(problem, other, Counting(compile_cache=compile_cache))
    assert report.feedback == ["Your score differentiates logits[a], not log_softmax(logits)[a]."]
    assert len(runs) == 2
