"""The Docker implementation of the sandbox Protocol: one fresh runner container per submission."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grader.errors import JudgeError
from grader.sandbox.capture import Capture
from grader.sandbox.frames import Event, Frames
from grader.sandbox.protocol import Job, cache_env, in_background, jail_cache, stream

RUNNER_IMAGE = "jaxjudge:runner"
JAIL_UID = 60_000  # the runner image's user
GIVEN = "/judge/given.py"  # where a problem's given.py is mounted (read-only)
DRAIN_S = 3.0  # at most this long to read a stopped container's last output


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
    no-new-privileges, a non-root user. Only the submission (read-only) and the job on stdin go
    in; only the frames on stdout and a capped stderr come out. Removed on every path."""

    name = "docker"
    jail_uid: int | None = JAIL_UID

    def __init__(self, image: str | None = None, cpus: float = 1.0,
                 compile_cache: Path | None = None) -> None:
        """image: the runner image, default $JAXJUDGE_RUNNER_IMAGE or jaxjudge:runner."""
        import docker

        self.client = _client()
        image = image or os.environ.get("JAXJUDGE_RUNNER_IMAGE") or RUNNER_IMAGE
        self.image, self.cpus, self.compile_cache = image, cpus, compile_cache
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound as exc:
            raise JudgeError(f"no Docker image {image!r}: build it with 'make image'") from exc

    def _create(self, job: Job) -> Any:
        from docker.types import Ulimit

        mem = job.memory_mb * 1024 * 1024
        volumes = {str(job.submission.resolve()): {"bind": "/submission/submission.py",
                                                   "mode": "ro"}}
        if job.given is not None:  # the problem's trusted given.py, read-only like the runner
            volumes[str(job.given.resolve())] = {"bind": GIVEN, "mode": "ro"}
        env = {"JAX_PLATFORMS": "cpu", "HOME": "/tmp"}
        if (sealed := jail_cache(self.compile_cache)) is not None:  # unlistable to uid 60000
            volumes[str(sealed)] = {"bind": "/jaxcache", "mode": "ro"}
            env |= cache_env("/jaxcache", writable=False)
        return self.client.containers.create(
            self.image, stdin_open=True, network_mode="none",  # stdin_open implies StdinOnce
            read_only=True, tmpfs={"/tmp": f"rw,nosuid,nodev,size={job.tmp_mb}m,mode=1777"},
            # RLIMIT_AS as locally (import jax maps 1.5 GiB but touches 0.25), and a cgroup cap
            # on real memory at the same figure, swap included.
            mem_limit=mem, memswap_limit=mem, pids_limit=job.max_processes,
            nano_cpus=int(self.cpus * 1e9), cap_drop=["ALL"],
            security_opt=["no-new-privileges"], user="60000:60000",
            ulimits=[Ulimit(name="as", soft=mem, hard=mem),
                     Ulimit(name="fsize", soft=64 << 20, hard=64 << 20),
                     Ulimit(name="core", soft=0, hard=0)],
            volumes=volumes, environment=env,
            labels={"jaxjudge": "runner", "jaxjudge.pid": str(os.getpid())})  # whose it is

    def run(self, job: Job, capture: Capture) -> Iterator[Event]:
        first, rest = job.stdin("/submission/submission.py", "stdout",
                                GIVEN if job.given is not None else None)
        container = self._create(job)
        frames = Frames(job.output_bytes + (1 << 20))
        writers: list[Any] = []
        demux: _Demux | None = None
        try:
            # Attached before it starts, so not a byte of output is missed.
            attached = container.attach_socket(
                params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            sock: socket.socket = attached._sock
            container.start()
            def send_first() -> None:
                sock.sendall(first)
                if not rest:  # nothing hidden to send later: the runner reads no more
                    sock.shutdown(socket.SHUT_WR)

            writers.append(in_background(send_first))

            def release() -> None:
                capture.settled(pump=wait)
                capture.mark_hidden()
                before = writers[0]
                def finish() -> None:
                    before.join()
                    sock.sendall(rest)
                    sock.shutdown(socket.SHUT_WR)

                writers.append(in_background(finish))

            demux = _Demux(frames, capture)

            def wait(timeout: float) -> None:
                if select.select([sock], [], [], timeout)[0]:
                    demux.feed(sock.recv(1 << 20))

            yield from stream(job, frames, wait, lambda: _exit_code(container), release)
        finally:
            # As the local jail drains its pipes after the kill: Docker copies stdout and stderr
            # on separate paths, so what the learner printed just before the last frame may
            # still be on its way. Stop the container, then read the socket to its end.
            with contextlib.suppress(Exception):
                container.kill()
            if demux is not None:
                _drain(sock, demux, DRAIN_S)
            with contextlib.suppress(Exception):
                container.remove(force=True)
            for t in writers:
                t.join(timeout=5)


def _drain(sock: socket.socket, demux: _Demux, seconds: float) -> None:
    """Feeds what is left on the attach socket until its end, within `seconds`."""
    end = time.monotonic() + seconds
    with contextlib.suppress(OSError):
        while (left := end - time.monotonic()) > 0 and select.select([sock], [], [], left)[0]:
            data = sock.recv(1 << 20)
            demux.feed(data)
            if not data:
                return


def _exit_code(container: Any) -> int | None:
    """As subprocess reports it: a negative signal number when killed (137 -> -9)."""
    try:
        code = int(container.wait(timeout=10)["StatusCode"])
    except Exception:
        return None
    return -(code - 128) if code > 128 else code


class _Demux:
    """Docker multiplexes stdout and stderr on one socket: an 8-byte header per chunk."""

    def __init__(self, frames: Frames, capture: Capture) -> None:
        self.frames, self.capture, self.buf = frames, capture, bytearray()

    def feed(self, data: bytes) -> None:
        if not data:
            self.frames.feed(b"")  # end of stream
            return
        self.buf.extend(data)
        # Walk the chunks by offset and cut the buffer once: deleting each chunk from the front
        # would move the whole buffer per chunk, quadratic in a flood of output.
        at = 0
        while len(self.buf) - at >= 8:
            kind, size = struct.unpack_from(">BxxxL", self.buf, at)
            if len(self.buf) - at < 8 + size:
                break
            chunk = bytes(self.buf[at + 8:at + 8 + size])
            at += 8 + size
            if kind == 1:
                self.frames.feed(chunk)
            else:
                self.capture.write(chunk)
        del self.buf[:at]
