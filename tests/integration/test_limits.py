"""A submission is bounded as a whole: memory (all its processes and its /tmp together), CPU and
/tmp size; without cgroups the judge refuses unless told; nothing is left behind."""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.errors import JudgeError
from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem
from grader.model.report import Report
from grader.sandbox import cgroup, hierarchy
from grader.sandbox.local import RUNNER, SANDBOX_UID, LocalSandbox, python_unreachable
from grader.sandbox.protocol import Sandbox
from grader.verdict import Verdict
from tests.integration.conftest import _visible_only, jail_leftovers
from tests.integration.test_hostile import CORRECT

MEMORY_MB = 2048  # import jax maps ~1.5 GiB of address space, which RLIMIT_AS still caps too
MARGIN_MB = 1024  # the judge's own growth and the host's noise while a grade runs

pytestmark = pytest.mark.usefixtures("clean_after")


@pytest.fixture(scope="module")
def small_problem(roomy_problem: Problem, tmp_path_factory: pytest.TempPathFactory) -> Problem:
    """memory_mb 2048: a memory attack costs the host little if it holds; and 60 s per test:
    filling 2 GiB is page faults whose cost here depends on the host (a CI machine's VM took
    up to 12 s per GiB of memory it had not touched lately), and the verdict must be about
    memory, never time."""
    root = tmp_path_factory.mktemp("small")
    shutil.copytree(roomy_problem.root, root, dirs_exist_ok=True)
    spec = root / "problems" / "reinforce_grad" / "problem.yaml"
    text = re.sub(r"limits: \{[^}]*\}", f"limits: {{time_per_test_s: 60, total_time_s: 120, "
                  f"memory_mb: {MEMORY_MB}, startup_s: 15}}", spec.read_text())
    spec.write_text(text)
    problem = load_problem("reinforce_grad", root)
    assert problem.spec.limits.memory_mb == MEMORY_MB and problem.spec.limits.time_per_test_s == 60
    return problem


class HostMemory:
    """The largest drop of the host's MemAvailable while in use, sampled in a bounded thread."""

    def __init__(self) -> None:
        self.start = self.low = _available()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        for _ in range(20_000):  # 0.02 s apart: at most ~400 s
            self.low = min(self.low, _available())
            if self.done.wait(0.02):
                return

    def __enter__(self) -> HostMemory:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join(timeout=5)

    @property
    def grew_mb(self) -> float:
        return (self.start - self.low) / 1024


def _available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])  # KiB
    raise AssertionError("no MemAvailable in /proc/meminfo")


def grade(problem: Problem, tmp_path: Path, body: str, sandbox: Sandbox) -> Report:
    path = tmp_path / "attack.py"
    path.write_text(CORRECT + body)
    return grade_submission(problem, path, sandbox, advise=False)


def messages(report: Report) -> str:
    return " | ".join(f"{t.verdict}: {t.message}" for t in report.tests)


@pytest.mark.alone  # measures the host's free memory
def test_children_together_over_the_memory_limit(small_problem: Problem, tmp_path: Path) -> None:
    # Eight children of 1.5 GiB each: each is under memory_mb, all of them are six times it.
    with HostMemory() as host:
        report = grade(small_problem, tmp_path, '''
import subprocess, sys
HOG = "import time\\nb = b'x' * (1536 << 20)\\ntime.sleep(3)"
def reinforce_grad(seed, logits, reward_table, n_samples):
    kids = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(8)]
    for kid in kids:
        kid.wait()
    return correct(seed, logits, reward_table, n_samples)
''', LocalSandbox())
    assert report.verdict == Verdict.MEMORY_LIMIT_EXCEEDED, messages(report)
    assert f"over the memory limit of {MEMORY_MB} MB" in report.tests[0].message
    assert host.grew_mb < MEMORY_MB + MARGIN_MB, f"the host gave {host.grew_mb:.0f} MiB"


# Files of 32 MiB (under the 64 MiB file-size limit) until a write fails: 3 GiB unbounded.
FILL_TMP = '''
import os
def reinforce_grad(seed, logits, reward_table, n_samples):
    wrote, chunk = 0, b"x" * (1 << 20)
    try:
        for i in range(96):
            with open(f"/tmp/fill{i}", "wb", buffering=0) as f:
                for _ in range(32):
                    wrote += f.write(chunk)
    except OSError as exc:
        raise RuntimeError(f"stopped after {wrote >> 20} MiB: errno {exc.errno}") from None
    raise RuntimeError(f"wrote all {wrote >> 20} MiB")
'''


@pytest.mark.alone  # measures the host's free memory
def test_filling_tmp_stops_at_its_cap(fast_problem: Problem, tmp_path: Path,
                                      sandbox: Sandbox) -> None:
    tmp_mb = 64  # the spec's default, as fast_problem has it
    with HostMemory() as host:
        report = grade(fast_problem, tmp_path, FILL_TMP, sandbox)
    found = re.search(r"RuntimeError: stopped after (\d+) MiB: errno (\d+)", messages(report))
    assert found is not None, messages(report)
    assert int(found[2]) == errno.ENOSPC and int(found[1]) <= tmp_mb, found[0]
    assert host.grew_mb < tmp_mb + MARGIN_MB, f"the host gave {host.grew_mb:.0f} MiB"


def test_tmp_size_comes_from_the_spec(fast_problem: Problem, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(fast_problem.root, root)
    spec = root / "problems" / "reinforce_grad" / "problem.yaml"
    spec.write_text(re.sub(r"(startup_s: \d+)\}", r"\1, tmp_mb: 8}", spec.read_text()))
    problem = load_problem("reinforce_grad", root)
    assert problem.spec.limits.tmp_mb == 8
    report = grade(problem, tmp_path, FILL_TMP, LocalSandbox())
    assert "RuntimeError: stopped after 8 MiB: errno 28" in messages(report), messages(report)


def test_busy_children_get_one_core(fast_problem: Problem, tmp_path: Path,
                                    sandbox: Sandbox) -> None:
    # Four processes spinning for 3 s of wall clock each, each in a session (so an autogroup) of
    # its own: on two free cores they would burn 6 s of CPU in 3 s. The first call measures; the
    # others answer at once.
    report = grade(fast_problem, tmp_path, '''
import os, subprocess, sys, time
SPIN = "import time\\nend = time.monotonic() + 3\\nwhile time.monotonic() < end: pass"
def reinforce_grad(seed, logits, reward_table, n_samples):
    if not os.path.exists("/tmp/spun"):
        open("/tmp/spun", "w").close()
        start = time.monotonic()
        kids = [subprocess.Popen([sys.executable, "-c", SPIN], start_new_session=True)
                for _ in range(4)]
        for kid in kids:
            kid.wait()
        used = os.times()
        cores = (used.children_user + used.children_system) / (time.monotonic() - start)
        if cores > 1.25:
            raise RuntimeError(f"used {cores:.2f} cores")
    return correct(seed, logits, reward_table, n_samples)
''', sandbox)
    assert report.verdict == Verdict.ACCEPTED, messages(report)


def test_a_dead_judges_groups_are_removed_by_the_next_judge() -> None:
    """A judge killed by SIGKILL cannot remove its jails' groups: the next judge on the host does,
    but never a group with a process in it, nor one just made (a judge in a pid namespace this
    one cannot see may be setting it up)."""
    dead = (1 << 22) + 1  # above any pid_max: a pid no process has
    def made(age_s: float) -> cgroup.Group:
        name = f"jaxjudge-{dead}-{uuid.uuid4().hex[:12]}"
        found = hierarchy.probe()
        group = cgroup.Group(found.version, tuple(p / name for p in found.parents))
        for d in group.dirs:
            d.mkdir()
            os.utime(d, (time.time() - age_s,) * 2)
        return group
    stale, fresh, busy = made(600), made(0), made(600)
    sleeper = subprocess.Popen([*busy.join_command(), "sleep", "60"])
    try:
        for _ in range(100):  # bounded: until the shell has joined each of the group's dirs
            if all(cgroup.read_value(d / "cgroup.procs").split() for d in busy.dirs):
                break
            time.sleep(0.02)
        LocalSandbox()
        assert [d for d in stale.dirs if d.exists()] == []
        assert all(d.exists() for d in fresh.dirs + busy.dirs)
        assert busy.pids() == [sleeper.pid]
    finally:
        for group in (stale, fresh, busy):
            group.close()
        sleeper.wait(timeout=10)


def test_without_cgroups_the_judge_refuses_unless_told(fast_problem: Problem, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAXJUDGE_LIMITS", raising=False)
    nowhere = tmp_path / "no-cgroups"
    nowhere.mkdir()
    with pytest.raises(JudgeError, match=r"no cgroup can bound .*--per-process-limits"):
        LocalSandbox(cgroup_root=nowhere)
    told = LocalSandbox(cgroup_root=nowhere, per_process_limits=True)
    assert told.cgroups is None
    report = grade(fast_problem, tmp_path, "reinforce_grad = correct\n", told)
    assert report.verdict == Verdict.ACCEPTED, messages(report)
    monkeypatch.setenv("JAXJUDGE_LIMITS", "per-process")
    assert LocalSandbox(cgroup_root=nowhere).cgroups is None
    assert LocalSandbox(unsandboxed=True, cgroup_root=nowhere).cgroups is None


@pytest.fixture
def readable() -> Iterator[Path]:
    """A folder the jail's uid can read: in uid mode the runner opens the file where it is."""
    folder = Path(tempfile.mkdtemp(prefix="limits-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def uid_mode(monkeypatch: pytest.MonkeyPatch, uid: int = SANDBOX_UID) -> None:
    """JAXJUDGE_ISOLATION=uid, or a skip naming why it cannot work here: this Python install is
    out of the jail uid's reach (the judge image's /opt/venv is not)."""
    if (where := python_unreachable(uid)) is not None:
        pytest.skip(f"uid {uid} cannot reach {where}, part of this Python install")
    monkeypatch.setenv("JAXJUDGE_ISOLATION", "uid")


def test_uid_mode_runs_from_a_source_tree_only_root_may_enter(
        fast_problem: Problem, readable: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A clone under /root or mktemp -d: the jail's uid cannot open the runner where it lies.
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    shutil.copy(RUNNER, closed / "runner.py")
    monkeypatch.setattr("grader.sandbox.local.RUNNER", closed / "runner.py")
    uid_mode(monkeypatch)
    report = grade(fast_problem, readable, "reinforce_grad = correct\n", LocalSandbox())
    assert report.verdict == Verdict.ACCEPTED, messages(report)


def test_uid_mode_gives_private_scratch(fast_problem: Problem, readable: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    uid_mode(monkeypatch)
    report = grade(fast_problem, readable, '''
import os, stat, tempfile
def reinforce_grad(seed, logits, reward_table, n_samples):
    here = os.getcwd()
    mode = os.stat(here)
    if os.environ["HOME"] != here or tempfile.gettempdir() != here:
        raise RuntimeError(f"HOME and TMPDIR are not the cwd {here}")
    if stat.S_IMODE(mode.st_mode) != 0o700 or mode.st_uid != os.getuid():
        raise RuntimeError(f"{here} is not private: {oct(mode.st_mode)} uid {mode.st_uid}")
    with open("scratch.bin", "wb") as f:
        f.write(b"x" * 1024)
    return correct(seed, logits, reward_table, n_samples)
''', LocalSandbox())
    assert report.verdict == Verdict.ACCEPTED, messages(report)


@pytest.mark.parametrize("isolation", ["bwrap", "uid"])
def test_nothing_left_behind_after_a_timeout(fast_problem: Problem, readable: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             isolation: str) -> None:
    if isolation == "uid":
        uid_mode(monkeypatch)
    before = set(jail_leftovers())  # a killed judge that had this worker's pid may have left some
    report = grade(fast_problem, readable, '''
import os, subprocess, tempfile
def reinforce_grad(seed, logits, reward_table, n_samples):
    open(os.path.join(tempfile.gettempdir(), "held"), "w").write("x")
    subprocess.Popen(["sleep", "600"], start_new_session=True)
    while True:
        pass
''', LocalSandbox())
    assert report.verdict == Verdict.TIME_LIMIT_EXCEEDED, messages(report)
    assert set(jail_leftovers()) <= before



@pytest.fixture(scope="module")
def five_s_problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    return _visible_only(tmp_path_factory, "limits: {time_per_test_s: 5, total_time_s: 60, "
                                           "memory_mb: 3072, startup_s: 15}")


@pytest.mark.parametrize(("wait_s", "verdict"), [(7, Verdict.ACCEPTED),
                                                 (600, Verdict.TIME_LIMIT_EXCEEDED)])
def test_a_limit_charges_cpu_and_caps_waiting_at_three_times_it(
        five_s_problem: Problem, sandbox: Sandbox, tmp_path: Path, wait_s: int,
        verdict: Verdict) -> None:
    """A call that waits 7 s (as an honest one does on a grader whose cores are busy) and works
    for less than a second is within 5 s per test: the limit charges the jail's CPU time, read
    from its cgroup (the container's, through Docker). One that waits on is still ended, at
    3 x 5 s of wall clock."""
    start = time.monotonic()
    report = grade(five_s_problem, tmp_path, f'''
import time
def reinforce_grad(seed, logits, reward_table, n_samples):
    if seed == 1.0:  # the second visible test
        time.sleep({wait_s})
    return correct(seed, logits, reward_table, n_samples)
''', sandbox)
    assert report.verdict == verdict, messages(report)
    assert time.monotonic() - start < 60  # ended by the wall cap, not by the total
