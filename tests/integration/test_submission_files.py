"""Submissions are bytes: links, pipes, owner-only, oversized and non-UTF-8 files, and a batch
that outlives a judge failure on one submission."""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from grader.cli import main
from grader.errors import JudgeError
from grader.judging.judge import grade_submission
from grader.model.problems import Problem
from grader.sandbox.capture import Capture
from grader.sandbox.factory import make_sandbox
from grader.sandbox.frames import Event
from grader.sandbox.local import SANDBOX_UID, LocalSandbox, python_unreachable
from grader.sandbox.protocol import Job, Sandbox

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "submissions" / "reinforce_grad"
CORRECT = EX / "accepted" / "onehot_minus_softmax.py"
WRONG = EX / "wrong_answer" / "raw_logits.py"


def _who(submission: str) -> str:
    p = Path(submission)
    return p.stem if p.parent.name == "class" else p.parent.name


def _grade_class(problem: Problem, room: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, Any]]]:
    """Grades `room` through the CLI into every export; checks each export lists every report."""
    monkeypatch.setenv("JAXJUDGE_ROOT", str(problem.root))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "out"
    code = main(["grade", "reinforce_grad", str(room), "--jobs", "2", "--format", "json",
                 "--csv", str(tmp_path / "g.csv"), "--junit", str(tmp_path / "j.xml"),
                 "--gradescope", str(out)])
    reports = {_who(r["submission"]): r for r in json.loads(capsys.readouterr().out)}
    rows = {_who(r["submission"]): r for r in csv.DictReader((tmp_path / "g.csv").open())}
    assert {k: r["verdict"] for k, r in rows.items()} == {
        k: r["verdict"] for k, r in reports.items()}
    suites = ET.parse(tmp_path / "j.xml").getroot().findall("testsuite")
    assert sorted(_who(s.get("name", "")) for s in suites) == sorted(reports)
    assert len(list(out.iterdir())) == len(reports)
    points = sum(u.points for u in [*problem.tests, *problem.spec.statistics])
    for folder in out.iterdir():
        gs = json.loads((folder / "results.json").read_text())
        assert gs["max_score"] == points  # a refusal keeps every test's points
    return code, reports


def test_links_and_special_files_in_a_class_are_refused_by_name(
        roomy_problem: Problem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], clean_after: None) -> None:
    room = tmp_path / "class"
    (room / "alice").mkdir(parents=True)
    # The attack: a link to the trusted reference, which the old judge graded as alice's file.
    (room / "alice" / "submission.py").symlink_to(ROOT / "reference" / "reinforce_grad.py")
    (room / "bob").mkdir()
    shutil.copy(CORRECT, room / "bob" / "reinforce_grad.py")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(CORRECT, elsewhere / "submission.py")
    (room / "carol").symlink_to(elsewhere)  # a linked student folder
    (room / "dave.py").symlink_to(CORRECT)  # a linked loose file
    os.mkfifo(room / "eve.py")  # would block whoever opens it
    shutil.copy(WRONG, room / "frank.py")
    code, reports = _grade_class(roomy_problem, room, tmp_path, monkeypatch, capsys)

    assert {k: (r["verdict"], r["score"]) for k, r in reports.items()} == {
        "alice": ("compile_error", 0.0), "bob": ("accepted", 1.0),
        "carol": ("compile_error", 0.0), "dave": ("compile_error", 0.0),
        "eve": ("compile_error", 0.0), "frank": ("wrong_answer", 0.0)}
    assert code == 0  # every submission got its verdict
    for who in ("alice", "carol", "dave"):
        message = reports[who]["tests"][0]["message"]
        assert message.endswith("refused: a symbolic link, not a file — submit the file itself")
        assert who in message
    assert "refused: a FIFO" in reports["eve"]["tests"][0]["message"]
    # The text listing names each refusal's reason under its line (the rest is served cached).
    assert main(["grade", "reinforce_grad", str(room), "--csv", str(tmp_path / "g.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    alice = lines.index(f"{'compile_error':22} {0:5.2f}  {room / 'alice' / 'submission.py'}")
    assert lines[alice + 1].strip() == reports["alice"]["tests"][0]["message"]


def _owner_only(tmp_path: Path, owner: int) -> Path:
    path = tmp_path / f"mine_{owner}.py"
    shutil.copy(CORRECT, path)
    path.chmod(0o600)  # as tempfile and a umask of 077 make them
    os.chown(path, owner, owner)
    return path


@pytest.fixture(params=["local", "docker", "uid"])
def any_sandbox(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Both backends, as the `sandbox` fixture gives them, and the judge container's uid isolation
    (the runner opens the host path as the jail's uid), with a slot uid of its own since uid mode
    kills every process of its uid."""
    if request.param == "docker":
        return request.getfixturevalue("docker_sandbox")  # type: ignore[no-any-return]
    if request.param == "uid":
        if (where := python_unreachable(SANDBOX_UID + 49)) is not None:
            pytest.skip(f"uid {SANDBOX_UID + 49} cannot reach {where}, part of this Python "
                        "install")
        monkeypatch.setenv("JAXJUDGE_ISOLATION", "uid")
        return LocalSandbox(uid=SANDBOX_UID + 49)
    return LocalSandbox(compile_cache=request.getfixturevalue("compile_cache"))


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
@pytest.mark.parametrize("owner", [0, 12345])
def test_an_owner_only_file_is_graded_not_blamed_on_the_learner(
        fast_problem: Problem, any_sandbox: Sandbox, owner: int, tmp_path: Path,
        clean_after: None) -> None:
    path = _owner_only(tmp_path, owner)
    report = grade_submission(fast_problem, path, any_sandbox)
    assert report.verdict == "accepted", [t.message for t in report.tests]
    assert report.submission == str(path)
    assert (path.stat().st_mode & 0o777, path.stat().st_uid) == (0o600, owner)  # left as found


def test_a_fifo_does_not_hang_the_judge(fast_problem: Problem, tmp_path: Path,
                                        clean_after: None) -> None:
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    pool = ThreadPoolExecutor(max_workers=1)
    start = time.monotonic()
    future = pool.submit(grade_submission, fast_problem, fifo, LocalSandbox())
    pool.shutdown(wait=False)  # on a hang the test fails below, it does not wait forever
    with pytest.raises(JudgeError, match=r"pipe\.py: refused: a FIFO \(named pipe\), not a file"):
        future.result(timeout=60)
    assert time.monotonic() - start < 2


def test_an_oversized_file_is_refused(fast_problem: Problem, tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    big.write_text(CORRECT.read_text() + "#" * (256 * 1024) + "\n")
    with pytest.raises(JudgeError, match=r"big\.py: refused: \d+ bytes, over the 256 KiB cap"):
        grade_submission(fast_problem, big, LocalSandbox())


def test_a_file_that_is_not_utf8_is_refused(fast_problem: Problem, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    latin = tmp_path / "latin.py"
    # Valid Python for the interpreter (it honours the coding line), but not UTF-8 text.
    latin.write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + CORRECT.read_bytes())
    with pytest.raises(JudgeError, match=r"latin\.py: refused: not UTF-8 text \(byte 31\)"):
        grade_submission(fast_problem, latin, LocalSandbox())
    monkeypatch.setenv("JAXJUDGE_ROOT", str(fast_problem.root))
    assert main(["grade", "reinforce_grad", str(latin)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"jaxjudge: error: {latin}: refused: not UTF-8 text")
    assert err.count("\n") == 1


class _Exploding:
    """A real jail that fails the judge (not the learner) on files marked BOOM."""

    def __init__(self, inner: Sandbox) -> None:
        self.inner, self.name = inner, inner.name
        self.jail_uid = getattr(inner, "jail_uid", None)

    def run(self, job: Job, captured: Capture) -> Iterator[Event]:
        if b"BOOM" in job.submission.read_bytes():
            raise RuntimeError("injected sandbox failure")
        yield from self.inner.run(job, captured)


def test_a_judge_failure_on_one_submission_is_its_entry_not_the_class_end(
        roomy_problem: Problem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], clean_after: None) -> None:
    real = make_sandbox
    monkeypatch.setattr("grader.batch.class_grading.make_sandbox",
                        lambda *a, **k: _Exploding(real(*a, **k)))
    room = tmp_path / "class"
    room.mkdir()
    shutil.copy(CORRECT, room / "alice.py")
    (room / "bob.py").write_text(CORRECT.read_text() + "\n# BOOM\n")
    shutil.copy(WRONG, room / "carol.py")
    code, reports = _grade_class(roomy_problem, room, tmp_path, monkeypatch, capsys)
    assert {k: r["verdict"] for k, r in reports.items()} == {
        "alice": "accepted", "bob": "judge_error", "carol": "wrong_answer"}
    assert code == 2  # the judge failed on one: its exit says so, and the exports exist
    assert reports["bob"]["tests"][0]["message"] == (
        "the judge failed on this submission: RuntimeError: injected sandbox failure")


def test_a_notebook_grades_as_the_py_file_holding_its_code(
        roomy_problem: Problem, compile_cache: Path, tmp_path: Path) -> None:
    """Its `solution` cells only (the untagged one would fail the import), magics removed: the
    corpus's accepted file in a notebook is accepted (test_corpus grades the .py itself)."""
    def cell(source: str, tags: list[str]) -> dict[str, Any]:
        return {"cell_type": "code", "execution_count": None, "outputs": [],
                "metadata": {"tags": tags}, "source": source}

    notebook = {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# My REINFORCE gradient"},
        cell("%load_ext autoreload\n" + CORRECT.read_text(), ["solution"]),
        cell("raise RuntimeError('scratch work')", []),
        cell("%%timeit\nreinforce_grad(None)", ["solution"])]}
    path = tmp_path / "work.ipynb"
    path.write_text(json.dumps(notebook))
    assert CORRECT.parent.name == "accepted"
    report = grade_submission(roomy_problem, path, LocalSandbox(compile_cache=compile_cache))
    assert report.verdict == "accepted", [t.message for t in report.tests]
    assert report.submission == str(path)
    assert report.feedback == ["2 IPython lines removed from the notebook: "
                               "%load_ext autoreload, %%timeit"]
