"""The local sandbox: one bubblewrap jail per submission, in a cgroup of its own."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from grader.errors import JudgeError
from grader.sandbox import cache_view, cgroup, hierarchy, scratch
from grader.sandbox.cache_view import cache_env
from grader.sandbox.capture import Capture
from grader.sandbox.frames import Event
from grader.sandbox.protocol import JAIL_ENV, Job
from grader.sandbox.ready import (  # re-exported: the sandbox's public names
    JAIL_STAGING,
    JAIL_SUBMISSION,
    LimitsKey,
    ReadyJails,
)
from grader.sandbox.reaping import kill, kill_uid

RUNNER = Path(__file__).with_name("runner.py")
# A real unprivileged uid when the judge runs as root; slot n uses SANDBOX_UID + n.
# $JAXJUDGE_SANDBOX_UID moves the range (the test suite gives each xdist worker its own).
SANDBOX_UID = int(os.environ.get("JAXJUDGE_SANDBOX_UID") or 60_000)
# Uid mode's copy of the runner, in the jail's private scratch: the source tree may lie where
# the jail's uid cannot enter (a clone under /root or mktemp -d).
STAGED_RUNNER = ".jaxjudge-runner.py"
# Likewise the problem's given.py (trusted functions a callable parameter names), staged beside
# it; in bubblewrap it is staged beside the submission, in the jail's staging folder.
STAGED_GIVEN = ".jaxjudge-given.py"


class LocalSandbox(ReadyJails):
    """bubblewrap: no network, own pid/mount/ipc/uts namespaces, read-only system, private /tmp."""

    name = "local"

    def __init__(self, unsandboxed: bool = False, uid: int = SANDBOX_UID,
                 compile_cache: Path | None = None, per_process_limits: bool = False,
                 cgroup_root: Path | None = None, keep_ready: bool = False) -> None:
        """unsandboxed: run with no isolation at all, for trusted code only (never a fallback).

        uid: the jail's uid when run as root; concurrent jails take distinct uids, so each has
        its own RLIMIT_NPROC budget. compile_cache: a persistent XLA compilation cache, once
        sealed (see jail_cache) read by each jail through a view of its own (see cache_view);
        unsandboxed (trusted) runs write to it. per_process_limits:
        where no cgroup can be made, grade under per-process rlimits instead of refusing (also
        JAXJUDGE_LIMITS=per-process). cgroup_root: where cgroups are mounted (tests).
        keep_ready: (bubblewrap only) keep one jail started ahead, its Python and `import jax`
        done, and replace each spent one at once; `close()` ends it. Each jail grades one job.
        """
        self.uid = uid
        self.compile_cache = compile_cache
        self.root = os.geteuid() == 0
        self.jail_uid = uid if self.root and not unsandboxed else None
        # JAXJUDGE_ISOLATION=uid: inside a container, whose namespaces are the outer jail (and
        # where bwrap cannot create its own), drop the submission to an unprivileged uid only.
        self.uid_only = not unsandboxed and os.environ.get("JAXJUDGE_ISOLATION") == "uid"
        if self.uid_only and not self.root:
            raise JudgeError("JAXJUDGE_ISOLATION=uid needs the judge to run as root, to drop "
                             "submissions to another uid")
        if self.uid_only and (where := python_unreachable(uid)) is not None:
            # Else every grade would be a judge_error: the jail's Python could not start.
            raise JudgeError(f"JAXJUDGE_ISOLATION=uid: the jail's uid {uid} cannot reach "
                             f"{where}, part of this Python install ({sys.prefix}); install the "
                             "judge's Python where every user may read it, as the judge image "
                             "does with /opt/venv (python -m venv /opt/venv), or make each "
                             "folder on the way searchable by others (chmod o+x)")
        self.bwrap = None if unsandboxed or self.uid_only else shutil.which("bwrap")
        if self.bwrap is None and not unsandboxed and not self.uid_only:
            raise JudgeError("bubblewrap (bwrap) is not installed: run 'make setup' or "
                             "'apt-get install bubblewrap'; --unsafe-no-sandbox runs unisolated")
        # One cgroup per run bounds the submission as a whole; probed once, here.
        self.cgroups = None if unsandboxed else hierarchy.for_jails(per_process_limits, cgroup_root)
        # How /tmp gets its size cap: bwrap's own --size, else (as root) a tmpfs mounted per run.
        # Neither (bwrap 0.8 without root): only the cgroup's memory limit bounds it, as its
        # pages are charged to the writer's memory cgroup.
        self.tmp_flag = self.bwrap is not None and scratch.bwrap_sizes_tmpfs(self.bwrap)
        self._init_ready(keep_ready and self.bwrap is not None)

    def command(self, key: LimitsKey, group: cgroup.Group | None = None,
                tmp: Path | None = None, staging: Path | None = None,
                uid: int | None = None) -> list[str]:
        """The jail's command line; `group` is the run's cgroup, `tmp` a host folder to bind as
        the jail's /tmp (else a tmpfs, of the key's size where bwrap can size it), `staging`
        (bubblewrap) the host folder bound read-only at /submission, where the judge puts the
        submission and given.py when the job comes, and which holds the jail's view of the
        compile cache. Nothing of a job but its limits is in it."""
        joined = group.join_command() if group is not None else []
        python = Path(sys.executable)
        mem = key.memory_mb * 1024 * 1024
        # prlimit, not preexec_fn: the judge has imported jax, and forking a threaded process to
        # run Python code in the child can deadlock. Hard limits: the learner cannot raise them.
        rlimits = ["/usr/bin/prlimit", f"--as={mem}", f"--nproc={key.max_processes}",
                   f"--fsize={64 << 20}", "--core=0", "--"]
        if self.uid_only:
            runner = tmp / STAGED_RUNNER if tmp is not None else RUNNER
            return [*joined, *rlimits, *self._drop(), str(python), "-I", str(runner)]
        if self.bwrap is None:  # unsandboxed: trusted code, which writes the cache if any
            writer = ["-m", "grader.sandbox.stripped"] if self.compile_cache is not None else []
            return [*rlimits, str(python), *writer, str(RUNNER)]
        assert staging is not None, "a bubblewrap jail needs its staging folder"
        env = dict(JAIL_ENV)
        if self._store() is not None:
            # Read-only (staging is): a submission must never plant executables other
            # submissions would load. Unlistable: it opens only the entries its programs hash to.
            env |= cache_env(f"{JAIL_STAGING}/{cache_view.VIEW_NAME}", writable=False)
        prefixes = sorted({Path(sys.prefix), Path(sys.base_prefix).resolve()})
        binds: list[str] = []
        made: set[Path] = set()
        for target in [*prefixes, Path("/judge/runner.py"), Path(JAIL_SUBMISSION)]:
            for parent in reversed(target.parents):
                if parent != Path("/") and parent not in made and not _system(parent):
                    made.add(parent)
                    binds += ["--perms", "0755", "--dir", str(parent)]
        for p in prefixes:
            binds += ["--ro-bind", str(p), str(p)]
        cmd = [self.bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
               "--unshare-cgroup-try", "--die-with-parent", "--new-session",
               "--ro-bind", "/usr", "/usr", "--ro-bind-try", "/lib", "/lib",
               "--ro-bind-try", "/lib64", "/lib64", "--ro-bind-try", "/bin", "/bin",
               "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
               "--proc", "/proc", "--dev", "/dev", *_tmp(key, tmp, self.tmp_flag),
               *binds,
               "--ro-bind", str(RUNNER), "/judge/runner.py",
               "--ro-bind", str(staging), JAIL_STAGING, "--chdir", "/tmp", "--clearenv",
               *(arg for k, v in env.items() for arg in ("--setenv", k, v))]
        if not self.root:
            cmd += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]
        return [*joined, *rlimits, *cmd, *self._drop(uid), str(python), "-I", "/judge/runner.py"]

    def _drop(self, uid: int | None = None) -> list[str]:
        """As root, no user namespace: a real unprivileged uid, so RLIMIT_NPROC holds (the kernel
        exempts uid 0 from it) and no capability survives."""
        if not self.root:
            return []
        uid = self.uid if uid is None else uid
        return ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]

    def environment(self, home: Path | None = None,
                    view: Path | None = None) -> dict[str, str] | None:
        """The runner's environment outside bwrap, which builds the jail's own (--clearenv);
        `home`: uid mode's private scratch folder, its HOME and TMPDIR; `view`: its view of
        the compile cache."""
        if self.uid_only:
            env = JAIL_ENV | ({"HOME": str(home), "TMPDIR": str(home)} if home else {})
            if view is not None:
                env |= cache_env(str(view), writable=False)
            return env
        if self.bwrap is not None or self.compile_cache is None:
            return None
        # Unsandboxed runs are trusted: they warm the cache.
        return {**os.environ, "JAX_PLATFORMS": "cpu",
                **cache_env(str(self.compile_cache), writable=True)}

    def run(self, job: Job, capture: Capture) -> Iterator[Event]:
        """One jail, in a cgroup and with scratch of its own, that grades this job and no other.
        bubblewrap: the ready jail of the job's limits when there is one, else one started now;
        the spent jail is closed and (keep_ready) replaced at once. On every path out, once the
        jail's processes are killed: the cgroup (and any straggler in it), then the scratch."""
        if self.bwrap is None:
            yield from self._run_direct(job, capture)
            return
        key = LimitsKey.of(job)
        jail = self._take(key) or self._start(key)
        assert jail is not None
        try:
            if self.keep_ready:  # the next one starts at once, beside this one, as the other uid
                try:
                    self.prepare(key, after=job)
                except Exception as exc:  # the next job starts its own, and says why
                    print(f"jaxjudge: warning: cannot start a jail ahead: {exc}",
                          file=sys.stderr)
            yield from self._serve(jail, job, capture)
        finally:
            jail.close()

    def _run_direct(self, job: Job, capture: Capture) -> Iterator[Event]:
        """No bubblewrap (uid isolation, or unsandboxed): a process started for this job."""
        with contextlib.ExitStack() as stack:
            tmp = view = None
            if self.uid_only:
                tmp = stack.enter_context(scratch.private_dir(self.uid))
                scratch.stage_file(RUNNER, tmp / STAGED_RUNNER)
                if job.given is not None:
                    scratch.stage_file(job.given, tmp / STAGED_GIVEN)
                if self._store() is not None:  # in a folder of the judge's: not the jail's tmp
                    view = cache_view.make(stack.enter_context(scratch.staging_dir(self.uid)))
                    self._link(view, job, released=False)
            group = self._group(LimitsKey.of(job), stack)
            rfd, wfd = os.pipe()
            os.set_blocking(rfd, False)
            given = None
            if job.given is not None:
                given = str(tmp / STAGED_GIVEN) if tmp is not None else str(job.given)
            first, rest = job.stdin(str(job.submission), wfd, given)
            try:
                proc = subprocess.Popen(self.command(LimitsKey.of(job), group, tmp),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, pass_fds=(wfd,),
                                        start_new_session=True,
                                        env=self.environment(tmp, view), cwd=tmp)
            except BaseException:
                os.close(rfd)
                raise
            finally:
                os.close(wfd)
            try:
                yield from self._exchange(job, capture, proc, rfd, first, rest, group, view)
            finally:
                kill(proc)
                if self.uid_only:
                    kill_uid(self.uid)  # no pid namespace of our own: whatever escaped the group
                os.close(rfd)


def python_unreachable(uid: int) -> Path | None:
    """The first folder of this Python install (its prefix, the site-packages holding jax, the
    interpreter's folder) that `uid`, with its own gid and no other group, cannot search (or,
    for the install's own folders, read); None when the jail's uid can run this Python."""
    spec = importlib.util.find_spec("jax")
    packages = ([Path(spec.origin).parents[1]] if spec is not None and spec.origin else [])
    listed = [Path(sys.prefix), *packages]
    for target, read in [*((p, True) for p in listed), (Path(sys.executable).parent, False)]:
        for path in dict.fromkeys([target.absolute(), target.resolve()]):
            for folder in [*reversed(path.parents), path]:
                need = 0o5 if read and folder == path else 0o1
                if not _may(folder, uid, need):
                    return folder
    return None


def _may(folder: Path, uid: int, bits: int) -> bool:
    """Whether `uid` (gid the same, no supplementary groups) has `bits` (0o1 search, 0o4 read)
    on `folder`: the owner's bits if it owns it, else the group's if its group, else others'."""
    try:
        st = folder.stat()
    except OSError:
        return False
    shift = 6 if st.st_uid == uid else 3 if st.st_gid == uid else 0
    return (st.st_mode >> shift) & bits == bits


def _tmp(key: LimitsKey, folder: Path | None, sized: bool) -> list[str]:
    if folder is not None:
        return ["--bind", str(folder), "/tmp"]
    size = ["--size", str(key.tmp_mb << 20)] if sized else []
    return ["--perms", "1777", *size, "--tmpfs", "/tmp"]


def _system(path: Path) -> bool:
    return str(path) in ("/usr", "/lib", "/lib64", "/bin", "/tmp", "/proc", "/dev", "/etc")


