"""A class graded in one command through the real sandbox, and the compile cache's defences."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.batch.class_grading import find_submissions
from grader.cli import main
from grader.data.cache import RESULTS, compile_cache_dir, folder, result_key
from grader.judging.judge import grade_submission
from grader.model.problems import Problem
from grader.model.submission import read_submission
from grader.sandbox.local import LocalSandbox
from grader.tools.warm import warm

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "submissions" / "reinforce_grad"


@pytest.fixture
def classroom(tmp_path: Path) -> Path:
    """Folder-per-student and loose files: correct, wrong, crashing and hanging."""
    room = tmp_path / "class"
    (room / "alice").mkdir(parents=True)
    shutil.copy(EX / "accepted" / "onehot_minus_softmax.py", room / "alice" / "reinforce_grad.py")
    (room / "bob").mkdir()
    shutil.copy(EX / "wrong_answer" / "raw_logits.py", room / "bob" / "submission.py")
    shutil.copy(EX / "runtime_error" / "index_error.py", room / "carol.py")
    shutil.copy(EX / "time_limit_exceeded" / "endless_loop.py", room / "dave.py")
    (room / "notes.txt").write_text("not a submission")
    return room


WANT = {"alice": "accepted", "bob": "wrong_answer", "carol": "runtime_error",
        "dave": "time_limit_exceeded"}


def _who(submission: str) -> str:
    p = Path(submission)
    return p.stem if p.parent.name == "class" else p.parent.name


def test_a_class_grades_into_every_export(roomy_problem: Problem, classroom: Path,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str],
                                          clean_after: None) -> None:
    monkeypatch.setenv("JAXJUDGE_ROOT", str(roomy_problem.root))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "out"
    code = main(["grade", "reinforce_grad", str(classroom), "--jobs", "2", "--format", "json",
                 "--csv", str(tmp_path / "g.csv"), "--junit", str(tmp_path / "j.xml"),
                 "--gradescope", str(out)])
    assert code == 0
    reports = json.loads(capsys.readouterr().out)
    assert {_who(r["submission"]): r["verdict"] for r in reports} == WANT

    rows = list(csv.DictReader((tmp_path / "g.csv").open()))
    assert {_who(r["submission"]): r["verdict"] for r in rows} == WANT
    for row, report in zip(rows, reports, strict=True):
        assert float(row["score"]) == pytest.approx(report["score"], abs=1e-4)
        assert [row[t["name"]] for t in report["tests"]] == [t["verdict"] for t in report["tests"]]

    suites = ET.parse(tmp_path / "j.xml").getroot().findall("testsuite")
    failures = {_who(s.get("name", "")): int(s.get("failures", "-1")) for s in suites}
    assert failures["alice"] == 0 and min(failures["bob"], failures["dave"]) >= 1

    for report in reports:
        (folder,) = [d for d in out.iterdir() if d.name.endswith(Path(report["submission"]).name)
                     and _who(report["submission"]) in d.name]
        gs = json.loads((folder / "results.json").read_text())
        assert gs["max_score"] == sum(t["points"] for t in report["tests"])
        assert gs["score"] == pytest.approx(report["score"] * gs["max_score"])
        assert [t["status"] for t in gs["tests"]] == [
            "passed" if t["verdict"] == "accepted" else "failed" for t in report["tests"]]


def test_unchanged_submissions_are_served_from_the_result_cache(
        roomy_problem: Problem, classroom: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JAXJUDGE_ROOT", str(roomy_problem.root))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    alice = classroom / "alice" / "reinforce_grad.py"
    assert main(["grade", "reinforce_grad", str(alice), str(classroom / "bob"), "--format",
                 "json", "--csv", str(tmp_path / "g.csv")]) == 0
    first = json.loads(capsys.readouterr().out)
    # Mark the cached result: a re-run that regraded would not show the mark.
    key = result_key(roomy_problem, read_submission(alice), "local")
    stored = folder(RESULTS) / f"{key}.json"
    marked = json.loads(stored.read_text())
    marked["feedback"] = ["served from the cache"]
    stored.write_text(json.dumps(marked))
    main(["grade", "reinforce_grad", str(alice), "--format", "json", "--csv",
          str(tmp_path / "g.csv")])
    assert json.loads(capsys.readouterr().out)[0]["feedback"] == ["served from the cache"]
    main(["grade", "reinforce_grad", str(alice), "--format", "json", "--csv",
          str(tmp_path / "g.csv"), "--no-cache"])
    assert json.loads(capsys.readouterr().out)[0]["feedback"] == first[0]["feedback"] == []
    # A changed file is a new submission.
    alice.write_text(alice.read_text() + "\n# edited\n")
    assert result_key(roomy_problem, read_submission(alice), "local") != key


def test_find_submissions_rejects_a_missing_path(tmp_path: Path) -> None:
    from grader.errors import JudgeError

    with pytest.raises(JudgeError, match="no such file"):
        find_submissions([tmp_path / "nope"], "f")
    with pytest.raises(JudgeError, match="no submissions"):
        find_submissions([tmp_path], "f")


POISON = '''
import os, glob
import jax, jax.numpy as jnp

# Try to plant entries in the compile cache other submissions would load.
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
planted = []
cache = os.environ.get("JAX_COMPILATION_CACHE_DIR") or "/jaxcache"  # the jail's view of it
for path in glob.glob(cache + "/*")[:50] + [cache + "/evil-cache"]:
    try:
        with open(path, "wb") as f:
            f.write(b"poison")
        planted.append(path)
    except OSError:
        pass

def reinforce_grad(seed, logits, reward_table, n_samples):
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                     shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(logits)
    out = jnp.mean(reward_table[actions][:, None] * score * 1.000001, axis=0)
    assert not planted, planted
    return out
'''


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_a_submission_cannot_poison_the_compile_cache(fast_problem: Problem, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      clean_after: None) -> None:
    monkeypatch.setenv("JAXJUDGE_COMPILE_CACHE", str(tmp_path / "xla"))
    assert warm(fast_problem) == []
    before = _snapshot(compile_cache_dir())
    assert len(before) > 10
    evil = tmp_path / "evil.py"
    evil.write_text(POISON)
    jail = LocalSandbox(compile_cache=compile_cache_dir())  # the cache mounted read-only
    report = grade_submission(fast_problem, evil, jail)
    # It ran (so it did try) and nothing it tried landed: no write, no new entry.
    assert report.verdict == "accepted", [t.message for t in report.tests]
    assert _snapshot(compile_cache_dir()) == before
    # And the cache still serves honest code.
    good = grade_submission(fast_problem, EX / "accepted" / "onehot_minus_softmax.py", jail)
    assert good.verdict == "accepted"
