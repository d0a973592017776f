"""Jails started ahead (a grader's ready jail) through the real bubblewrap sandbox: a jail grades
one submission and is never reused, its staging folder is read-only and its own, its limits are
those it was started with and serve only jobs of the same limits, and a dead or stale ready
jail is replaced. The hidden-phase attacks run against ready jails in test_hidden.py. A ready
Docker container, through the real engine: it grades one submission, its file read-only."""

from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.judging.execution import make_job, ready_key
from grader.judging.judge import grade_submission, plan
from grader.model.problems import Problem, load_problem
from grader.model.report import Report
from grader.sandbox.capture import Capture
from grader.sandbox.container import DockerSandbox
from grader.sandbox.local import LocalSandbox
from grader.sandbox.ready import LimitsKey
from grader.verdict import Verdict
from tests.integration.conftest import ROOT, ready_sandbox
from tests.integration.test_hostile import CORRECT
from tests.integration.test_limits import FILL_TMP

pytestmark = pytest.mark.usefixtures("clean_after")


@pytest.fixture
def ready(compile_cache: Path) -> Iterator[LocalSandbox]:
    with ready_sandbox(compile_cache) as box:
        yield box


def grade(problem: Problem, tmp_path: Path, body: str, box: LocalSandbox) -> Report:
    path = tmp_path / "attack.py"
    path.write_text(CORRECT + body)
    return grade_submission(problem, path, box, advise=False)


def messages(report: Report) -> str:
    return " | ".join(f"{t.verdict}: {t.message}" for t in report.tests) + report.output


# At import: whatever an earlier submission left in its jail (/tmp, the interpreter) shows.
LEAVE_A_MARK = '''
import os, sys
if os.path.exists("/tmp/mark") or hasattr(sys, "jaxjudge_mark"):
    raise RuntimeError("this jail graded another submission before")
open("/tmp/mark", "w").close()
sys.jaxjudge_mark = True

def reinforce_grad(seed, logits, reward_table, n_samples):
    return correct(seed, logits, reward_table, n_samples)
'''


def test_a_spent_jail_is_never_reused(fast_problem: Problem, tmp_path: Path,
                                      ready: LocalSandbox) -> None:
    first = ready._ready
    assert first is not None
    report = grade(fast_problem, tmp_path, LEAVE_A_MARK, ready)
    assert report.verdict == Verdict.ACCEPTED, messages(report)
    second = ready._ready  # replaced at once, and not by the spent one
    assert second is not None and second is not first and first.proc.poll() is not None
    report = grade(fast_problem, tmp_path, LEAVE_A_MARK, ready)
    assert report.verdict == Verdict.ACCEPTED, messages(report)
    assert second.proc.poll() is not None and ready._ready not in (first, second)


# At import, in a jail or a container started ahead: its own file writable or renamable, its
# folder writable (each attempt that works is a defence that gave way).
ATTEMPTS = '''
import glob, os, sys
got = []
def attempt(what, act):
    try:
        act()
        got.append(what)
    except OSError:
        pass
attempt("append", lambda: open(__file__, "a").close())
attempt("rename", lambda: os.rename(__file__, "/submission/moved.py"))
attempt("create", lambda: open("/submission/other.py", "w").close())
'''
# And in a jail: anything but its own file in its folder; another jail's staging folder (its
# host path) reachable.
STAGING = ATTEMPTS + '''
attempt("chmod", lambda: os.chmod("/submission", 0o777))
attempt("other", lambda: os.listdir(OTHER))
attempt("list the cache view", lambda: os.listdir("/submission/jaxcache"))
attempt("plant in the cache view", lambda: open("/submission/jaxcache/evil-cache", "w").close())
if sorted(set(os.listdir("/submission")) - {"jaxcache"}) != ["submission.py"]:
    got.append(f"listed {sorted(os.listdir('/submission'))}")
if glob.glob("/tmp/jaxjudge-stage-*"):
    got.append("stages")
if got:
    raise RuntimeError(f"the staging folder gave way: {got}")

def reinforce_grad(seed, logits, reward_table, n_samples):
    return correct(seed, logits, reward_table, n_samples)
'''


def test_a_submission_cannot_change_its_file_nor_reach_another_jails(
        fast_problem: Problem, tmp_path: Path, ready: LocalSandbox, compile_cache: Path) -> None:
    other = LocalSandbox(compile_cache=compile_cache, keep_ready=True)
    try:
        other.prepare(ready_key())
        assert other._ready is not None
        report = grade(fast_problem, tmp_path,
                       f"OTHER = {str(other._ready.staging)!r}\n" + STAGING, ready)
    finally:
        other.close()
    assert report.verdict == Verdict.ACCEPTED, messages(report)


def test_a_ready_jail_serves_only_jobs_of_its_own_limits(
        fast_problem: Problem, tmp_path: Path, ready: LocalSandbox) -> None:
    # The ready jail has the default /tmp of 64 MiB; this problem's is 8 MiB.
    root = tmp_path / "root"
    shutil.copytree(fast_problem.root, root)
    spec = root / "problems" / "reinforce_grad" / "problem.yaml"
    spec.write_text(re.sub(r"(startup_s: \d+)\}", r"\1, tmp_mb: 8}", spec.read_text()))
    problem = load_problem("reinforce_grad", root)
    report = grade(problem, tmp_path, FILL_TMP, ready)
    assert "RuntimeError: stopped after 8 MiB: errno 28" in messages(report), messages(report)
    assert ready._ready is not None and ready._ready.key.tmp_mb == 8  # the next is of its key


def test_a_dead_or_stale_ready_jail_is_replaced(fast_problem: Problem, tmp_path: Path,
                                                ready: LocalSandbox) -> None:
    path = tmp_path / "accepted.py"
    path.write_text(CORRECT + "\nreinforce_grad = correct\n")
    p = plan(fast_problem)
    job = make_job(fast_problem, path, p.calls, p.public, p.groups)
    for spoil in ("killed", "stale"):
        jail = ready._ready
        assert jail is not None
        if spoil == "killed":
            os.killpg(jail.proc.pid, signal.SIGKILL)
            jail.proc.wait(10)
        else:
            ready.max_wait_s = 0.0
        # The run itself (no retry, as run_calls would make): ready, every call, done.
        kinds = [e.kind for e in ready.run(job, Capture())]
        assert kinds[0] == "ready" and kinds[-1] == "done", kinds
        assert jail.proc.poll() is not None  # the spoilt jail is gone, not left waiting
    ready.max_wait_s = 600.0


# And in a container: a mark of an earlier submission (its /tmp, the interpreter).
IN_A_READY_CONTAINER = ATTEMPTS + '''
if os.path.exists("/tmp/mark") or hasattr(sys, "jaxjudge_mark"):
    got.append("graded another submission before")
if got:
    raise RuntimeError(f"the ready container gave way: {got}")
open("/tmp/mark", "w").close()
sys.jaxjudge_mark = True

def reinforce_grad(seed, logits, reward_table, n_samples):
    return correct(seed, logits, reward_table, n_samples)
'''


def test_a_ready_container_grades_one_submission_its_file_read_only(
        fast_problem: Problem, tmp_path: Path, docker_sandbox: DockerSandbox,
        compile_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = DockerSandbox(compile_cache=compile_cache, keep_ready=True)
    path = tmp_path / "attack.py"
    path.write_text(CORRECT + IN_A_READY_CONTAINER)
    try:
        box.prepare(ready_key())
        spent = []
        for _ in range(2):
            ready = box._ready
            assert ready is not None
            report = grade_submission(fast_problem, path, box, advise=False)
            assert report.verdict == Verdict.ACCEPTED, messages(report)
            assert ready.used  # graded in the container started ahead, which is gone now
            assert box.client.containers.list(all=True, filters={"id": ready.container.id},
                                              sparse=True) == []
            spent.append(ready)
            for _ in range(300):  # the next one is started in the background: 30 s at most
                if box._ready is not None:
                    break
                time.sleep(0.1)
            assert box._ready is not None and box._ready not in spent
        # Closed while the next container is being started (a grader stopping just after a
        # grade): that one is removed too, not left behind once the judge exits.
        created = threading.Event()
        create = box._create

        def create_and_tell(*args: Any) -> Any:
            container = create(*args)
            created.set()
            return container

        monkeypatch.setattr(box, "_create", create_and_tell)
        box._prepare_next(LimitsKey(1024, 64, 8))  # another key: the ready one goes first
        assert created.wait(60)
    finally:
        box.close()
    assert box.client.containers.list(
        all=True, filters={"label": f"jaxjudge.pid={os.getpid()}"}, sparse=True) == []


@pytest.fixture(scope="module")
def sampled_problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    """reinforce_grad's 3 visible tests (K=2 and K=3, 1,000 samples), 2 hidden ones of other
    shapes (K=1; 1 sample), and a sampling rule that also prints."""
    root = tmp_path_factory.mktemp("sampled")
    shutil.copytree(ROOT / "problems" / "reinforce_grad", root / "problems" / "reinforce_grad")
    (root / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "reinforce_grad.py", root / "reference")
    spec = root / "problems" / "reinforce_grad" / "problem.yaml"
    spec.write_text(spec.read_text().split("  - name: float_seed_truncates")[0] + (
        "sampling: \"print('warm-up ran'); actions = jax.random.categorical("
        "jax.random.PRNGKey(int(seed)), logits, shape=(int(n_samples),))\"\n"))
    return load_problem("reinforce_grad", root)


# At import: how many sample shapes this jail's process has compiled jax.random's Gumbel noise
# for (each categorical draw of a new shape adds one), before the file did anything.
COUNT_WARMED = '''
from jax._src.random import core as _core
print("gumbel programs:", _core._gumbel._cache_size())

def reinforce_grad(seed, logits, reward_table, n_samples):
    return correct(seed, logits, reward_table, n_samples)
'''


def test_the_next_jail_warms_up_on_the_visible_inputs_only_and_silently(
        sampled_problem: Problem, tmp_path: Path, ready: LocalSandbox) -> None:
    first = grade(sampled_problem, tmp_path, COUNT_WARMED, ready)
    assert first.verdict == Verdict.ACCEPTED, messages(first)
    assert "gumbel programs: 0" in first.output, first.output  # started before any job
    second = grade(sampled_problem, tmp_path, COUNT_WARMED, ready)
    assert second.verdict == Verdict.ACCEPTED, messages(second)
    # Warmed by the first job's visible calls: K=2 and K=3 with 1,000 samples; not the hidden
    # K=1 or 1 sample, which would make 4.
    assert "gumbel programs: 2" in second.output, second.output
    for report in (first, second):
        assert "warm-up ran" not in report.output + report.hidden_output
