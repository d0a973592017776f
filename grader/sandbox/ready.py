"""Jails started ahead (issue: answers in a second): a bubblewrap jail whose runner has started
Python and imported jax before its job is known, waiting on stdin for its header. The job's
files arrive in the jail's own staging folder (read-only to it), then its header and calls;
each jail grades one job and is never reused."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import JudgeError
from grader.sandbox import cache_view, cgroup, hierarchy, scratch
from grader.sandbox.cache_view import jail_cache
from grader.sandbox.capture import Capture
from grader.sandbox.frames import Event, Frames
from grader.sandbox.protocol import Job, in_background, stream
from grader.sandbox.reaping import kill
from grader.sandbox.slot import Slot

STAGED_SUBMISSION, STAGED_GIVEN_NAME = "submission.py", "given.py"
# bubblewrap: the jail's own staging folder, empty when the jail starts, bound read-only here;
# the judge writes the submission (and given.py) into it when the job comes.
JAIL_STAGING = "/submission"
JAIL_SUBMISSION = f"{JAIL_STAGING}/submission.py"
# A ready jail that waited longer than this is replaced (killed and started afresh) when taken.
READY_MAX_WAIT_S = 600.0
# A slot's second uid (as root): the jail started ahead runs as one while the slot's other jail
# still grades as the other, so that neither shares the other's RLIMIT_NPROC budget.
READY_UID_OFFSET = 1000


@dataclass(frozen=True)
class LimitsKey:
    """What a jail's command line fixes at its start: a ready jail serves only jobs of its key."""

    memory_mb: int
    max_processes: int
    tmp_mb: int

    @classmethod
    def of(cls, job: Job) -> LimitsKey:
        return cls(job.memory_mb, job.max_processes, job.tmp_mb)


@dataclass(eq=False)
class Jail:
    """One started bubblewrap jail: its runner imports jax, then waits for its header on stdin.
    It grades one job at most; `close` kills it and removes its cgroup, staging and /tmp."""

    key: LimitsKey
    uid: int
    proc: subprocess.Popen[bytes]
    rfd: int  # the judge's end of the result channel
    wfd: int  # the number the jail's end has in the jail
    group: cgroup.Group | None
    staging: Path
    stack: contextlib.ExitStack
    born: float
    view: Path | None = None  # its view of the compile cache, in its staging (cache_view)
    used: bool = False

    def alive(self) -> bool:
        return self.proc.poll() is None and not (self.group is not None and self.group.oom())

    def close(self) -> None:
        try:
            kill(self.proc)
            for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                with contextlib.suppress(OSError):
                    if pipe is not None:
                        pipe.close()
            with contextlib.suppress(OSError):
                os.close(self.rfd)
        finally:
            self.stack.close()

class ReadyJails:
    """A sandbox's jails started ahead (LocalSandbox's bubblewrap path): one ready jail of a
    limits key at most, each jail used for one job, a spent one replaced at once (keep_ready),
    each running as whichever of the slot's two uids no live jail of this sandbox has."""

    uid: int
    root: bool
    tmp_flag: bool
    compile_cache: Path | None
    keep_ready: bool
    cgroups: hierarchy.Hierarchy | None
    max_wait_s: float
    _slot: Slot[Jail]
    _lock: threading.Lock  # the uids in use
    _live: set[int]

    def _init_ready(self, keep_ready: bool) -> None:
        self.keep_ready = keep_ready
        if keep_ready:
            scratch.sweep_staging()  # what ready jails of judges that died left
        self.max_wait_s = READY_MAX_WAIT_S
        self._slot = Slot()
        self._lock = threading.Lock()
        self._live = set()  # uids of this sandbox's jails alive now

    @property
    def _ready(self) -> Jail | None:
        return self._slot.ready

    def _group(self, key: LimitsKey, stack: contextlib.ExitStack) -> cgroup.Group | None:
        """A jail's cgroup with `key`'s limits (None where per-process limits were accepted),
        closed with `stack`, its OOM watch started."""
        if self.cgroups is None:
            return None
        group = self.cgroups.create(key.memory_mb << 20, key.max_processes)
        stack.callback(group.close)
        group.watch()
        return group

    def command(self, key: LimitsKey, group: cgroup.Group | None = None,
                tmp: Path | None = None, staging: Path | None = None,
                uid: int | None = None) -> list[str]:
        raise NotImplementedError

    def _claim_uid(self) -> int | None:
        """The slot's uid no jail of this sandbox runs as now (None: both are in use)."""
        with self._lock:
            for uid in (self.uid, self.uid + READY_UID_OFFSET):
                if uid not in self._live:
                    self._live.add(uid)
                    return uid
        return None

    def _release_uid(self, uid: int) -> None:
        with self._lock:
            self._live.discard(uid)

    def prepare(self, key: LimitsKey, after: Job | None = None) -> None:
        """Starts a jail of `key` ahead, if this sandbox keeps one ready and has none of that key
        (one of another key is closed: one ready jail per sandbox). It runs as whichever of the
        slot's two uids no live jail of this sandbox has (none free: nothing is started).
        `after`: the job just taken, whose problem the next is likely of: the jail warms up for
        it (its warm_up line, and its visible programs in the jail's view of the cache)."""
        if self.keep_ready:
            self._slot.fill(key, lambda: self._start(key, ahead=True, after=after))

    def close(self) -> None:
        """Kills and cleans the ready jail; no other is started after this."""
        self._slot.shut()

    def _take(self, key: LimitsKey) -> Jail | None:
        """The ready jail, if of `key`, alive and not stale; else None (one of other limits,
        whose uid a jail for this job may need, or a dead or stale one is closed here)."""
        return self._slot.take(key, self.max_wait_s, Jail.alive)

    def _start(self, key: LimitsKey, ahead: bool = False,
               after: Job | None = None) -> Jail | None:
        """A bubblewrap jail of `key`, its staging folder still empty: its runner starts Python
        and imports jax, then waits for its header. It runs as whichever of the slot's two uids
        no live jail of this sandbox has; with both in use, a jail started `ahead` is None, and
        one for a job now is refused (never two jails of one uid)."""
        uid = self._claim_uid()
        if uid is None:
            if ahead:
                return None
            raise JudgeError("both of this slot's jail uids are in use")
        stack = contextlib.ExitStack()
        stack.callback(self._release_uid, uid)
        try:
            tmp = None
            if self.root and not self.tmp_flag:
                tmp = stack.enter_context(scratch.sized_tmpfs(key.tmp_mb, uid))
            staging = stack.enter_context(scratch.staging_dir(uid if self.root else None))
            view = cache_view.make(staging) if self._store() is not None else None
            group = self._group(key, stack)
            rfd, wfd = os.pipe()
            os.set_blocking(rfd, False)
            try:
                proc = subprocess.Popen(self.command(key, group, tmp, staging, uid),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, pass_fds=(wfd,),
                                        start_new_session=True)
            except BaseException:
                os.close(rfd)
                raise
            finally:
                os.close(wfd)
            jail = Jail(key, uid, proc, rfd, wfd, group, staging, stack, time.monotonic(), view)
            if after is not None and after.warm_up and proc.stdin is not None:
                if after.cache is not None:
                    cache_view.link_moment(self._store(), view, dataclasses.replace(
                        after.cache, at_start=(cache_view.VISIBLE,)), released=False)
                proc.stdin.write(after.warm_up)  # a few KB: the pipe holds it
                proc.stdin.flush()
            return jail
        except BaseException:
            stack.close()
            raise

    def _store(self) -> Path | None:
        """The compile cache jails' views link from: the sandbox's, once sealed."""
        return jail_cache(self.compile_cache)

    def _link(self, view: Path | None, job: Job, released: bool) -> None:
        """The job's programs of one moment (its start, or the release of its hidden calls)
        into the jail's view of the compile cache."""
        cache_view.link_moment(self._store(), view, job.cache, released)

    def _serve(self, jail: Jail, job: Job, capture: Capture) -> Iterator[Event]:
        """The job in `jail`: its files staged (read-only to the jail), then its header and
        public calls; the deadlines start now, as for a jail started for it."""
        jail.used = True
        scratch.stage_file(job.submission, jail.staging / STAGED_SUBMISSION)
        given = None
        if job.given is not None:
            scratch.stage_file(job.given, jail.staging / STAGED_GIVEN_NAME)
            given = f"{JAIL_STAGING}/{STAGED_GIVEN_NAME}"
        self._link(jail.view, job, released=False)
        first, rest = job.stdin(JAIL_SUBMISSION, jail.wfd, given)
        yield from self._exchange(job, capture, jail.proc, jail.rfd, first, rest, jail.group,
                                  jail.view)

    def _exchange(self, job: Job, capture: Capture, proc: subprocess.Popen[bytes], rfd: int,
                  first: bytes, rest: bytes, group: cgroup.Group | None,
                  view: Path | None) -> Iterator[Event]:
        """The job's stdin to the runner (the hidden calls only once released, and the hidden
        calls' programs in `view` with them), its frames back under the job's deadlines; the
        runner is killed on every path out."""
        assert proc.stdin is not None
        stdin = proc.stdin

        def write(data: bytes) -> None:
            stdin.write(data)
            stdin.flush()

        writers = [in_background(lambda: write(first))]

        def release() -> None:
            capture.settled()
            capture.mark_hidden()
            self._link(view, job, released=True)
            before = writers[0]
            def finish() -> None:
                before.join()
                write(rest)
                stdin.close()  # the runner reads no more

            writers.append(in_background(finish))

        drains = [threading.Thread(target=_drain, args=(s, capture), daemon=True)
                  for s in (proc.stdout, proc.stderr)]
        for t in drains:
            t.start()
        frames = Frames(job.output_bytes + (1 << 20))

        def wait(timeout: float) -> None:
            if select.select([rfd], [], [], timeout)[0]:
                with contextlib.suppress(BlockingIOError):
                    frames.feed(os.read(rfd, 1 << 20))

        try:
            yield from stream(job, frames, wait, lambda: proc.wait(5), release,
                              group.oom if group is not None else None,
                              group.cpu_seconds if group is not None else None)
        finally:
            kill(proc)
            for t in [*drains, *writers]:
                t.join(timeout=5)
            with contextlib.suppress(OSError):
                stdin.close()



def _drain(stream: Any, capture: Capture) -> None:
    """Reads everything away: printing is never an error, and the capture keeps its ends."""
    fd = stream.fileno()
    while chunk := os.read(fd, 65536):  # what is there now: read(n) would wait for all n
        capture.write(chunk)
