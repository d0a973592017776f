"""Which ready jail a job may take: its limits key, and the key `jaxjudge grade` starts its jail
with before the spec is loaded (read from problem.yaml alone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.cli.grade import early_key
from grader.judging.execution import ready_key
from grader.model.problems import Problem, load_problem
from grader.model.spec import Limits
from grader.sandbox.protocol import Job
from grader.sandbox.ready import LimitsKey


def test_the_default_key_is_a_default_jobs() -> None:
    job = Job(Path("x.py"), "f", [], 1.0, 1.0, Limits().memory_mb, 1)
    assert LimitsKey.of(job) == ready_key()
    assert LimitsKey.of(job) != LimitsKey.of(Job(Path("x.py"), "f", [], 1.0, 1.0, 512, 1))


def test_early_key_reads_the_spec_limits_and_falls_back_to_the_defaults(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAXJUDGE_ROOT", str(tmp_path))
    folder = tmp_path / "problems" / "p"
    folder.mkdir(parents=True)
    (folder / "problem.yaml").write_text("limits: {memory_mb: 1024, tmp_mb: 8}\n")
    assert early_key("p") == LimitsKey(1024, ready_key().max_processes, 8)
    (folder / "problem.yaml").write_text("limits: [not, a, mapping\n")
    assert early_key("p") == ready_key()
    assert early_key("absent") == ready_key()


def test_early_key_agrees_with_the_loaded_spec() -> None:
    problem = load_problem("reinforce_grad")
    limits = problem.spec.limits
    assert early_key("reinforce_grad") == LimitsKey(limits.memory_mb,
                                                    ready_key().max_processes,
                                                    limits.tmp_mb)


def test_staging_folders_of_dead_judges_are_swept(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import subprocess

    from grader.sandbox import scratch

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    old, live = (tmp_path / f"{scratch.STAGE_PREFIX}{pid}-x" for pid in (dead.pid, os.getpid()))
    for folder in (old, live):
        folder.mkdir()
        (folder / "submission.py").write_text("x = 1\n")
        os.utime(folder, (0, 0))
    young = tmp_path / f"{scratch.STAGE_PREFIX}{dead.pid}-y"
    young.mkdir()
    assert scratch.sweep_staging() == [old]
    assert live.is_dir() and young.is_dir() and not old.exists()


def test_a_jail_warms_up_on_the_visible_calls_only() -> None:
    """The warm-up line a grade's job leaves the next jail: the sampling rule and the distinct
    visible calls (a check's 100 seeds stand as one), never a hidden test's input; a job whose
    calls all go at once (it may hold hidden inputs) leaves none."""
    import json

    import numpy as np

    from grader.judging.execution import WARM_UP_CALLS, make_job
    from grader.judging.judge import plan
    from grader.sandbox.runner import decode

    problem = load_problem("reinforce_grad")
    p = plan(problem)
    job = make_job(problem, Path("x.py"), p.calls, p.public, p.groups, p.leaves)
    line = json.loads(job.warm_up)["warm_up"]
    assert line["code"] == problem.spec.sampling
    sent = [{k: np.asarray(decode(v)).tolist() for k, v in c.items()} for c in line["calls"]]
    as_lists = [{k: np.asarray(v).tolist() for k, v in c.items()} for c in p.calls]
    visible, hidden = as_lists[:p.public], as_lists[p.public:]
    assert sent and all(c in visible for c in sent) and not any(c in hidden for c in sent)
    # The 3 visible tests and one call of the visible checks, which share their 100 seeds.
    assert len(sent) == min(WARM_UP_CALLS, 4), sent
    assert make_job(problem, Path("x.py"), p.calls).warm_up == b""
    spec = problem.spec.model_copy(update={"sampling": None})
    quiet = make_job(Problem(problem.root, spec), Path("x.py"), p.calls[:p.public], p.public)
    assert quiet.warm_up == b""
