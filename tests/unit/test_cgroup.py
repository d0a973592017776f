"""The cgroup module on fake trees laid out like cgroupfs (v1 hybrid and pure v2), path injected."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from grader.errors import JudgeError
from grader.sandbox import cgroup
from grader.sandbox import hierarchy as hier

V1_FILES = {
    "memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.oom_control",
               "memory.failcnt", "memory.max_usage_in_bytes"],
    "pids": ["pids.max"],
    "cpu": ["cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.stat"],
}
V1_SELF = "9:name=systemd:/\n8:pids:/\n4:memory:/judge/slot\n1:cpu,cpuacct:/\n0::/\n"
V2_FILES = ["cgroup.procs", "cgroup.subtree_control", "memory.max", "memory.swap.max",
            "memory.oom.group", "memory.events", "pids.max", "cpu.max", "cgroup.kill"]


def _group_dir(d: Path, files: list[str]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name in ["cgroup.procs", *files]:
        (d / name).touch()


def v1_tree(root: Path) -> Path:
    for controller, files in V1_FILES.items():
        _group_dir(root / controller, files)
    _group_dir(root / "memory" / "judge" / "slot", V1_FILES["memory"])
    return root


def v2_tree(root: Path, controllers: str = "cpuset cpu io memory pids") -> Path:
    _group_dir(root, V2_FILES)
    (root / "cgroup.controllers").write_text(controllers + "\n")
    _group_dir(root / hier.V2_PARENT, V2_FILES)  # as the kernel makes it on mkdir
    return root


@pytest.fixture(autouse=True)
def _rmdir_removes_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """cgroupfs removes a group with its control files in it; a plain folder needs rmtree."""
    real = os.rmdir

    def rmdir(path: str | os.PathLike[str], *, dir_fd: int | None = None) -> None:
        folder = Path(path)
        if dir_fd is None and folder.is_dir() and not any(p.is_dir() for p in folder.iterdir()):
            for control in folder.iterdir():
                control.unlink()
        real(path, dir_fd=dir_fd)

    monkeypatch.setattr("grader.sandbox.cgroup.os.rmdir", rmdir)


def test_v1_groups_go_inside_the_judges_own_where_visible(tmp_path: Path) -> None:
    root = v1_tree(tmp_path)
    hierarchy = hier.probe(root, V1_SELF, euid=0)
    assert hierarchy.version == 1
    assert hierarchy.parents == (root / "memory" / "judge" / "slot", root / "pids", root / "cpu")
    assert not list((root / "pids").glob("jaxjudge-*"))  # the probe's group is gone again


def test_v1_group_has_the_jobs_limits_and_goes_away(tmp_path: Path) -> None:
    root = v1_tree(tmp_path)
    group = hier.probe(root, V1_SELF, euid=0).create(512 << 20, 64)
    memory, pids, cpu = group.dirs
    assert memory.parent == root / "memory" / "judge" / "slot"
    assert memory.name.startswith(f"jaxjudge-{os.getpid()}-")
    assert (memory / "memory.limit_in_bytes").read_text() == str(512 << 20)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(512 << 20)
    assert (pids / "pids.max").read_text() == "64"
    assert (cpu / "cpu.cfs_quota_us").read_text() == (cpu / "cpu.cfs_period_us").read_text() \
        == "100000"
    group.close()
    assert not any(d.exists() for d in group.dirs)


def test_v1_without_swap_accounting_sets_no_swap_limit(tmp_path: Path) -> None:
    root = v1_tree(tmp_path)
    (root / "memory" / "judge" / "slot" / "memory.memsw.limit_in_bytes").unlink()
    group = hier.probe(root, V1_SELF, euid=0).create(512 << 20, 64)
    assert not (group.dirs[0] / "memory.memsw.limit_in_bytes").exists()
    group.close()


def test_v1_missing_controller_is_unavailable(tmp_path: Path) -> None:
    root = v1_tree(tmp_path)
    shutil.rmtree(root / "cpu")
    with pytest.raises(cgroup.Unavailable, match=r"not mounted .*: cpu"):
        hier.probe(root, V1_SELF, euid=0)


def test_group_names_are_unique_across_threads(tmp_path: Path) -> None:
    hierarchy = hier.probe(v1_tree(tmp_path), V1_SELF, euid=0)
    groups: list[cgroup.Group] = []
    threads = [threading.Thread(target=lambda: groups.append(hierarchy.create(1 << 30, 8)))
               for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({g.dirs[0].name for g in groups}) == 16
    for g in groups:
        g.close()


def test_v1_oom_from_the_kill_count_or_failcnt_on_old_kernels(tmp_path: Path) -> None:
    group = hier.probe(v1_tree(tmp_path), V1_SELF, euid=0).create(512 << 20, 64)
    control = group.dirs[0] / "memory.oom_control"
    control.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert not group.oom()
    control.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert group.oom()
    group.close()
    old = hier.probe(v1_tree(tmp_path / "old"), V1_SELF, euid=0).create(512 << 20, 64)
    (old.dirs[0] / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\n")
    (old.dirs[0] / "memory.failcnt").write_text("3\n")
    (old.dirs[0] / "memory.max_usage_in_bytes").write_text(f"{256 << 20}\n")
    assert not old.oom()  # hit the limit's reclaim, never full
    (old.dirs[0] / "memory.max_usage_in_bytes").write_text(f"{512 << 20}\n")
    assert old.oom()
    old.close()


def test_join_command_writes_its_own_pid_then_execs(tmp_path: Path) -> None:
    group = hier.probe(v1_tree(tmp_path), V1_SELF, euid=0).create(512 << 20, 64)
    proc = subprocess.Popen([*group.join_command(), "sh", "-c", "echo $$"],
                            stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=10)
    # exec: the pid written is the pid of the command that runs, and of the shell before it
    assert out.strip() == str(proc.pid)
    for d in group.dirs:
        assert (d / "cgroup.procs").read_text().strip() == str(proc.pid)
    group.close()


def test_join_command_fails_when_the_group_cannot_be_entered(tmp_path: Path) -> None:
    group = cgroup.Group(1, (tmp_path / "gone",))
    done = subprocess.run([*group.join_command(), "echo", "ran"], capture_output=True, text=True,
                          timeout=10)
    assert done.returncode != 0 and "ran" not in done.stdout


def test_v2_as_root_uses_a_parent_of_its_own(tmp_path: Path) -> None:
    root = v2_tree(tmp_path)
    hierarchy = hier.probe(root, "0::/user.slice/session-1.scope\n", euid=0)
    assert hierarchy == hier.Hierarchy(2, (root / hier.V2_PARENT,))
    assert (root / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (root / hier.V2_PARENT / "cgroup.subtree_control").read_text() \
        == "+memory +pids +cpu"
    group = hierarchy.create(256 << 20, 32)
    (d,) = group.dirs
    assert (d / "memory.max").read_text() == str(256 << 20)
    assert (d / "memory.swap.max").read_text() == "0"
    assert (d / "memory.oom.group").read_text() == "1"
    assert (d / "pids.max").read_text() == "32"
    assert (d / "cpu.max").read_text() == "100000 100000"
    assert not group.oom()
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
    assert group.oom()
    group.close()
    assert not d.exists()


def test_v2_enables_only_what_is_not_enabled_yet(tmp_path: Path) -> None:
    root = v2_tree(tmp_path)
    (root / "cgroup.subtree_control").write_text("cpu memory pids\n")
    hier.probe(root, "0::/\n", euid=0)
    assert (root / "cgroup.subtree_control").read_text() == "cpu memory pids\n"


def test_v2_missing_controllers_are_named(tmp_path: Path) -> None:
    root = v2_tree(tmp_path, controllers="cpuset io memory")
    with pytest.raises(cgroup.Unavailable, match="lacks controllers: pids, cpu"):
        hier.probe(root, "0::/\n", euid=0)


def test_v2_delegated_subtree_moves_the_judge_into_a_leaf(tmp_path: Path) -> None:
    root = v2_tree(tmp_path)
    mine = root / "user.slice" / "app.scope"
    _group_dir(mine, V2_FILES)
    hierarchy = hier.probe(root, "0::/user.slice/app.scope\n", euid=1000)
    assert hierarchy == hier.Hierarchy(2, (mine,))
    assert (mine / hier.V2_LEAF / "cgroup.procs").read_text() == str(os.getpid())
    assert (mine / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    # Probed again from inside the leaf: the same parent, not a group inside the leaf.
    again = hier.probe(root, f"0::/user.slice/app.scope/{hier.V2_LEAF}\n", euid=1000)
    assert again == hierarchy


def test_v2_not_root_and_not_delegated_is_unavailable(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = v2_tree(tmp_path)
    _group_dir(root / "user.slice", V2_FILES)
    monkeypatch.setattr("grader.sandbox.hierarchy.os.access", lambda *_: False)
    with pytest.raises(cgroup.Unavailable, match="not delegated"):
        hier.probe(root, "0::/user.slice\n", euid=1000)


def test_no_cgroup_filesystem_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(cgroup.Unavailable, match="no cgroup filesystem"):
        hier.probe(tmp_path, "0::/\n", euid=0)


def test_for_jails_refuses_or_accepts_per_process(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAXJUDGE_LIMITS", raising=False)
    with pytest.raises(JudgeError, match=r"no cgroup filesystem.*--per-process-limits"):
        hier.for_jails(False, tmp_path)
    assert hier.for_jails(True, tmp_path) is None
    monkeypatch.setenv("JAXJUDGE_LIMITS", "per-process")
    assert hier.for_jails(False, tmp_path) is None
    monkeypatch.setenv("JAXJUDGE_LIMITS", "perprocess")
    with pytest.raises(JudgeError, match="JAXJUDGE_LIMITS"):
        hier.for_jails(True, tmp_path)


def test_own_cgroups_parses_v1_and_v2_lines() -> None:
    assert hier.own_cgroups(V1_SELF) == {
        "name=systemd": "/", "pids": "/", "memory": "/judge/slot", "cpu": "/", "cpuacct": "/",
        "": "/"}


def _killed_run(oom: bool | None, reason_eof: bool = True) -> tuple[dict[str, object], object]:
    from collections.abc import Iterator

    from grader.judging.execution import run_calls
    from grader.sandbox.capture import Capture
    from grader.sandbox.frames import Event, Frames
    from grader.sandbox.protocol import Job, stream

    job = Job(Path("x.py"), "f", [{}], 1.0, 1.0, 512, 1024, startup_s=0.5)
    frames = Frames(1 << 20)
    frames.feed(b'{"event": "ready", "nbytes": 0}\n{"event": "start", "test": 0, "nbytes": 0}\n')
    if reason_eof:
        frames.feed(b"")
    events = list(stream(job, frames, lambda t: None, lambda: -9, lambda: None,
                         None if oom is None else (lambda: oom)))

    class Replay:
        name = "replay"
        jail_uid: int | None = None

        def run(self, job: Job, captured: Capture) -> Iterator[Event]:
            return iter(events)

    stop = run_calls(Replay(), job).stop
    return events[-1].header, None if stop is None else (stop.verdict, stop.message)


def test_an_oom_kill_reads_memory_limit_exceeded() -> None:
    from grader.verdict import Verdict

    header, stop = _killed_run(oom=True)
    assert header == {"reason": "exit", "code": -9, "oom": True}
    assert stop == (Verdict.MEMORY_LIMIT_EXCEEDED, "over the memory limit of 512 MB: killed")
    header, stop = _killed_run(oom=True, reason_eof=False)  # timed out while over its limit
    assert header["oom"] is True and stop[0] == Verdict.MEMORY_LIMIT_EXCEEDED  # type: ignore[index]
    for oom in (False, None):
        header, stop = _killed_run(oom=oom)
        assert "oom" not in header
        assert stop == (Verdict.RUNTIME_ERROR, "your process was killed by signal 9")


def test_the_groups_cpu_time_from_cpuacct_on_v1_and_cpu_stat_on_v2(tmp_path: Path) -> None:
    plain = hier.probe(v1_tree(tmp_path / "plain"), V1_SELF, euid=0).create(512 << 20, 64)
    assert plain.cpu_seconds() is None  # no cpuacct mounted: the limits use the wall clock
    plain.close()
    root = v1_tree(tmp_path / "acct")
    _group_dir(root / "cpuacct", ["cpuacct.usage"])
    group = hier.probe(root, V1_SELF, euid=0).create(512 << 20, 64)
    assert group.dirs[-1].parent == root / "cpuacct"  # the jail joins it too
    (group.dirs[-1] / "cpuacct.usage").write_text("2500000000\n")
    assert group.cpu_seconds() == 2.5
    group.close()
    v2 = hier.probe(v2_tree(tmp_path / "v2"), "0::/\n", euid=0).create(512 << 20, 64)
    (v2.dirs[0] / "cpu.stat").write_text("usage_usec 1250000\nuser_usec 1000000\n")
    assert v2.cpu_seconds() == 1.25
    v2.close()


def test_a_containers_group_is_read_only_where_its_path_names_it() -> None:
    """A judge in a pid namespace of its own would find some other process at the engine's pid:
    a group whose path lacks the container's id is not taken, nor a pid that does not exist."""
    assert hier.group_of(os.getpid(), "0123456789abcdef" * 4) is None
    assert hier.group_of(1 << 30, "any") is None
