"""The Docker implementation of the sandbox Protocol: one runner container per submission,
started for it or (keep_ready) ahead of it, its runner waiting for its job on stdin."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import JudgeError
from grader.sandbox import cache_view, cgroup, hierarchy, scratch
from grader.sandbox.attach import Demux, drain, exit_code
from grader.sandbox.cache_view import cache_env, jail_cache
from grader.sandbox.capture import Capture
from grader.sandbox.frames import Event, Frames
from grader.sandbox.protocol import Job, in_background, stream
from grader.sandbox.ready import (
    JAIL_STAGING,
    JAIL_SUBMISSION,
    READY_MAX_WAIT_S,
    STAGED_GIVEN_NAME,
    STAGED_SUBMISSION,
    LimitsKey,
)
from grader.sandbox.slot import Slot

RUNNER_IMAGE = "jaxjudge:runner"
JAIL_UID = 60_000  # the runner image's user
DRAIN_S = 3.0  # at most this long to read a stopped container's last output
CLOSE_WAIT_S = 60.0  # at most this long for a container being started ahead when closing


def _client() -> Any:
    try:
        import docker
    except ImportError as exc:
        raise JudgeError("the docker backend needs the Docker SDK for Python: "
                         "pip install 'jaxjudge[docker]'") from exc
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except docker.errors.DockerException as exc:
        raise JudgeError(f"cannot reach the Docker engine ({exc}); start dockerd, or point "
                         "DOCKER_HOST at it") from exc
    return client


class DockerSandbox:
    """Network off, read-only root, a small tmpfs, memory/pids/CPU limits, no capabilities,
    no-new-privileges, a non-root user. Only the submission (a read-only copy in the container's
    own staging folder) and the job on stdin go in; only the frames on stdout and a capped stderr
    come out. Each grades one job; removed on every path."""

    name = "docker"
    jail_uid: int | None = JAIL_UID

    def __init__(self, image: str | None = None, cpus: float = 1.0,
                 compile_cache: Path | None = None, keep_ready: bool = False) -> None:
        """image: the runner image, default $JAXJUDGE_RUNNER_IMAGE or jaxjudge:runner.
        keep_ready: keep one container started ahead (its runner has imported jax and waits for
        its job on stdin), replaced at once by another when taken; `close()` ends it. Each
        container grades one job."""
        import docker

        self.client = _client()
        image = image or os.environ.get("JAXJUDGE_RUNNER_IMAGE") or RUNNER_IMAGE
        self.image, self.cpus, self.compile_cache = image, cpus, compile_cache
        self.keep_ready = keep_ready
        if keep_ready:
            scratch.sweep_staging()  # what ready containers of judges that died left
        self.max_wait_s = READY_MAX_WAIT_S
        self._slot: Slot[Container] = Slot()
        self._lock = threading.Lock()  # the threads starting the next container
        self._starters: list[threading.Thread] = []
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound as exc:
            raise JudgeError(f"no Docker image {image!r}: build it with 'make image'") from exc

    def _create(self, key: LimitsKey, staging: Path) -> Any:
        """A container of `key`'s limits whose /submission is `staging`, read-only: nothing of
        a job is in its command line, so it may be started before its job is known."""
        from docker.types import Ulimit

        mem = key.memory_mb * 1024 * 1024
        volumes = {str(staging): {"bind": JAIL_STAGING, "mode": "ro"}}
        env = {"JAX_PLATFORMS": "cpu", "HOME": "/tmp"}
        if (staging / cache_view.VIEW_NAME).is_dir():  # its view: unlistable to uid 60000
            env |= cache_env(f"{JAIL_STAGING}/{cache_view.VIEW_NAME}", writable=False)
        return self.client.containers.create(
            self.image, stdin_open=True, network_mode="none",  # stdin_open implies StdinOnce
            read_only=True, tmpfs={"/tmp": f"rw,nosuid,nodev,size={key.tmp_mb}m,mode=1777"},
            # RLIMIT_AS as locally (import jax maps 1.5 GiB but touches 0.25), and a cgroup cap
            # on real memory at the same figure, swap included.
            mem_limit=mem, memswap_limit=mem, pids_limit=key.max_processes,
            nano_cpus=int(self.cpus * 1e9), cap_drop=["ALL"],
            security_opt=["no-new-privileges"], user=f"{JAIL_UID}:{JAIL_UID}",
            ulimits=[Ulimit(name="as", soft=mem, hard=mem),
                     Ulimit(name="fsize", soft=64 << 20, hard=64 << 20),
                     Ulimit(name="core", soft=0, hard=0)],
            volumes=volumes, environment=env,
            labels={"jaxjudge": "runner", "jaxjudge.pid": str(os.getpid())})  # whose it is

    def _start(self, key: LimitsKey) -> Container:
        """A started container of `key`, its staging folder still empty: its runner imports
        jax, then waits for its header on stdin."""
        stack = contextlib.ExitStack()
        try:
            staging = stack.enter_context(scratch.staging_dir(JAIL_UID))
            if os.geteuid() != 0:  # the judge's own folder: uid 60000 may open, never list
                staging.chmod(0o711)
            view = cache_view.make(staging) if self._store() is not None else None
            container = self._create(key, staging)
            stack.callback(_remove, container)
            # Attached before it starts, so not a byte of output is missed.
            attached = container.attach_socket(
                params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            sock: socket.socket = attached._sock
            stack.callback(sock.close)
            container.start()
            return Container(key, container, sock, staging, stack, time.monotonic(),
                             _group(container), view)
        except BaseException:
            stack.close()
            raise

    @property
    def _ready(self) -> Container | None:
        return self._slot.ready

    def prepare(self, key: LimitsKey) -> None:
        """Starts a container of `key` ahead, if this sandbox keeps one ready and has none of
        that key (one of another key is closed: one ready container per sandbox)."""
        if self.keep_ready:
            self._slot.fill(key, lambda: self._start(key))

    def close(self) -> None:
        """Kills and removes the ready container; no other is started after this."""
        self._slot.shut()
        with self._lock:
            starters, self._starters = self._starters, []
        # A container still being started is closed on finding the slot shut: waited for, so
        # that a judge that ends now leaves none behind.
        for thread in starters:
            thread.join(timeout=CLOSE_WAIT_S)

    def _take(self, key: LimitsKey) -> Container | None:
        """The ready container, if of `key`, running and not stale (else it is closed); one of
        another key is closed too."""
        return self._slot.take(key, self.max_wait_s, Container.running)

    def _prepare_next(self, key: LimitsKey) -> None:
        """The next container, started beside the one grading now (it imports jax meanwhile)."""
        def start() -> None:
            try:
                self.prepare(key)
            except Exception as exc:  # the next job starts its own, and says why
                print(f"jaxjudge: warning: cannot start a container ahead: {exc}",
                      file=sys.stderr)

        thread = threading.Thread(target=start, daemon=True)
        with self._lock:
            self._starters = [t for t in self._starters if t.is_alive()] + [thread]
        thread.start()

    def run(self, job: Job, capture: Capture) -> Iterator[Event]:
        """One container that grades this job and no other: the ready one of the job's limits
        when there is one, else one started now; its files are staged (read-only to it), then
        its header and public calls go in. Killed and removed on every path out; with
        keep_ready, the next one starts at once."""
        key = LimitsKey.of(job)
        box = self._take(key) or self._start(key)
        if self.keep_ready:
            self._prepare_next(key)
        try:
            yield from self._serve(box, job, capture)
        finally:
            box.close()

    def _store(self) -> Path | None:
        return jail_cache(self.compile_cache)

    def _link(self, box: Container, job: Job, released: bool) -> None:
        cache_view.link_moment(self._store(), box.view, job.cache, released)

    def _serve(self, box: Container, job: Job, capture: Capture) -> Iterator[Event]:
        box.used = True
        scratch.stage_file(job.submission, box.staging / STAGED_SUBMISSION)
        given = None
        if job.given is not None:  # the problem's trusted given.py, read-only like the runner
            scratch.stage_file(job.given, box.staging / STAGED_GIVEN_NAME)
            given = f"{JAIL_STAGING}/{STAGED_GIVEN_NAME}"
        self._link(box, job, released=False)
        first, rest = job.stdin(JAIL_SUBMISSION, "stdout", given)
        container, sock = box.container, box.sock
        frames = Frames(job.output_bytes + (1 << 20))
        writers: list[Any] = []
        demux = Demux(frames, capture)
        try:
            def send_first() -> None:
                sock.sendall(first)
                if not rest:  # nothing hidden to send later: the runner reads no more
                    sock.shutdown(socket.SHUT_WR)

            writers.append(in_background(send_first))

            def release() -> None:
                capture.settled(pump=wait)
                capture.mark_hidden()
                self._link(box, job, released=True)
                before = writers[0]
                def finish() -> None:
                    before.join()
                    sock.sendall(rest)
                    sock.shutdown(socket.SHUT_WR)

                writers.append(in_background(finish))

            def wait(timeout: float) -> None:
                if select.select([sock], [], [], timeout)[0]:
                    demux.feed(sock.recv(1 << 20))

            yield from stream(job, frames, wait, lambda: exit_code(container), release,
                              cpu=box.group.cpu_seconds if box.group is not None else None)
        finally:
            # As the local jail drains its pipes after the kill: Docker copies stdout and stderr
            # on separate paths, so what the learner printed just before the last frame may
            # still be on its way. Stop the container, then read the socket to its end.
            with contextlib.suppress(Exception):
                container.kill()
            drain(sock, demux, DRAIN_S)
            for t in writers:
                t.join(timeout=5)


@dataclass(eq=False)
class Container:
    """One started runner container, attached: it grades one job at most; `close` kills and
    removes it, closes its socket and removes its staging folder."""

    key: LimitsKey
    container: Any
    sock: socket.socket
    staging: Path
    stack: contextlib.ExitStack
    born: float
    group: cgroup.Group | None  # its cgroup, where this judge can read its CPU time
    view: Path | None = None  # its view of the compile cache, in its staging (cache_view)
    used: bool = False

    def running(self) -> bool:
        try:
            self.container.reload()
        except Exception:
            return False
        return bool(self.container.status == "running")

    def close(self) -> None:
        self.stack.close()


def _group(container: Any) -> cgroup.Group | None:
    """The started container's cgroup, whose CPU time its limits charge, where this judge can
    read it: on the engine's host, through the container's first process (found once, when it
    starts: ahead of its job for a ready one). A judge in a container of its own, or talking to
    an engine elsewhere, cannot; the wall clock then decides alone."""
    with contextlib.suppress(Exception):  # the engine's answer, whatever it is
        container.reload()
        pid = int(container.attrs["State"]["Pid"])
        if pid > 0:
            return hierarchy.group_of(pid, container.id)
    return None


def _remove(container: Any) -> None:
    with contextlib.suppress(Exception):
        container.remove(force=True)
