"""What a sandbox is given and what it yields: the Job, the Protocol, the runner's stdin, and
the event stream read under the job's deadlines."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from grader.sandbox.cache_view import CacheView
from grader.sandbox.capture import Capture
from grader.sandbox.frames import Event, Frames, Order, ProtocolError
from grader.sandbox.runner import CALL_KEY, TRANSFORM_KEY


@dataclass(frozen=True)
class Job:
    submission: Path
    function: str
    tests: list[dict[str, Any]]  # per call, in run order: argument name -> float | int | ndarray
    time_per_test_s: float
    total_time_s: float
    memory_mb: int
    output_bytes: int
    startup_s: float = 30.0
    max_processes: int = 256
    # The first `public` calls reach the jail at once; the rest only after their results
    # (None: every call is public).
    public: int | None = None
    # Per call, the statistical check it belongs to: a check stops at its first failed call.
    groups: tuple[int | None, ...] = ()
    tmp_mb: int = 64
    # A tuple or tree return: its declared structure (the runner flattens results by it) and
    # its leaves' paths in order; None and () for one array.
    returns: dict[str, Any] | None = None
    leaf_paths: tuple[str, ...] = ()
    # The problem's given.py (trusted, staged into the jail) and the only names in it a
    # `kind: callable` argument may resolve to; None and () when no parameter is a callable.
    given: Path | None = None
    given_names: tuple[str, ...] = ()

    # Per call, the leaf paths of a function check's result where they differ from the
    # function's (a vjp's gradients; () for one array); None, or no entry: `leaf_paths`.
    call_leaves: tuple[tuple[str, ...] | None, ...] = ()
    # Every entry of a problem with `functions` (each call names its own, CALL_KEY); () for one.
    entries: tuple[str, ...] = ()
    # With `functions` whose entries return different structures: per entry, its declared
    # structure (None: one array) and its leaves' paths; {} when `returns` serves every entry.
    entry_returns: dict[str, Any] = field(default_factory=dict)
    entry_leaves: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Which warmed programs of its problem the jail may load, and when (see cache_view); None:
    # none (trusted runs that write the cache, jobs of no problem).
    cache: CacheView | None = None
    # For the jail started ahead after this job's (the next one, likely of the same problem):
    # the runner's warm_up line, built from this job's visible calls only (b"": none).
    warm_up: bytes = b""

    def leaves_of(self, call: int | None) -> tuple[str, ...]:
        own = self.call_leaves[call] if call is not None and call < len(self.call_leaves) \
            else None
        if own is None and call is not None and self.entry_leaves and call < len(self.tests):
            own = self.entry_leaves.get(self.tests[call].get(CALL_KEY, ""))
        return self.leaf_paths if own is None else own

    @property
    def transforms(self) -> bool:
        """Some call runs under a function check's transform."""
        return any(TRANSFORM_KEY in t for t in self.tests)

    @property
    def n_public(self) -> int:
        return len(self.tests) if self.public is None else self.public

    def stdin(self, path: str, result_fd: int | str,
              given: str | None = None) -> tuple[bytes, bytes]:
        """The runner's stdin in two parts: its header and the public calls, then the hidden
        calls, which the transport sends only when `stream` releases them. `given`: where the
        jail sees the staged given.py (when the job has one)."""
        groups = list(self.groups) or [None] * len(self.tests)
        header = {"path": path, "function": self.function, "output_bytes": self.output_bytes,
                  "result_fd": result_fd, "calls": len(self.tests), "public": self.n_public,
                  "groups": groups, "returns": self.returns, "entries": list(self.entries),
                  "entry_returns": self.entry_returns,
                  "given": {"path": given, "names": list(self.given_names)}
                  if self.given is not None else None}
        lines = [json.dumps(encode_args(t)).encode() + b"\n" for t in self.tests]
        first = json.dumps(header).encode() + b"\n" + b"".join(lines[:self.n_public])
        return first, b"".join(lines[self.n_public:])


class Sandbox(Protocol):
    name: str
    jail_uid: int | None  # who the submission runs as, when not the judge's own (mapped) uid

    def run(self, job: Job, capture: Capture) -> Iterator[Event]: ...


# The whole environment of a jail's runner.
JAIL_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "JAX_PLATFORMS": "cpu",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}


def encode_args(args: dict[str, Any]) -> dict[str, Any]:
    """Arguments as JSON for the runner: arrays as base64, a tree as {"tree": {...}}, a key
    (an int subclass carrying `key_seed`) as {"key": seed}, a callable (a str subclass carrying
    `given_name`) as {"given": name}, scalars as themselves."""
    out: dict[str, Any] = {}
    for k, v in args.items():
        if isinstance(v, np.ndarray):
            out[k] = {"dtype": v.dtype.str, "shape": list(v.shape),
                      "b64": base64.b64encode(v.tobytes()).decode()}
        elif isinstance(v, dict):
            out[k] = {"tree": encode_args(v)}
        elif getattr(v, "key_seed", False):
            out[k] = {"key": int(v)}
        elif getattr(v, "given_name", False):
            out[k] = {"given": str(v)}
        else:
            out[k] = v
    return out


def in_background(work: Callable[[], object]) -> threading.Thread:
    """Writes to the jail from a thread: a jail that stops reading must not block the judge.
    When the jail is killed the write fails, and the thread ends."""
    def run() -> None:
        with contextlib.suppress(OSError, ValueError):
            work()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


READY_S = 60.0  # for a runner to start (interpreter, import jax) before the learner's clocks do
# Where the jail's CPU time can be read (its cgroup), a limit charges that, and the wall clock
# only ends code that waits instead of working (sleeps, blocks on a pipe) at WALL_FACTOR times the
# limit. A grader's load then decides no verdict: on a busy machine an honest call gets less CPU
# per second but the same CPU, while a loop that spins burns its limit in CPU all the same.
WALL_FACTOR = 3.0
# A jail below one core (throttled, or waiting part of the time) spends its CPU slower than the
# wall clock: the stream looks again at least this much later, so it overshoots a limit by at most
# this much CPU instead of polling ever faster near it.
POLL_S = 0.05
TRICKLE_S = 0.02  # between reads of a result channel that trickles (Frames.trickling)


@dataclass(frozen=True)
class Clock:
    """One limit's budget from a moment: CPU seconds (the jail's, where `cpu` gives them) and a
    wall-clock cap, or the wall clock alone."""

    limit: float
    wall0: float
    cpu0: float | None

    @classmethod
    def start(cls, limit: float, cpu: float | None) -> Clock:
        return cls(limit, time.monotonic(), cpu)

    def left(self, now: float, cpu: float | None) -> float:
        """Seconds until the limit at the fastest the jail can spend them: one core's worth
        of CPU per second (its cgroup's quota), so waiting this long can never overshoot."""
        if self.cpu0 is None or cpu is None:
            return self.limit - (now - self.wall0)
        return min(self.limit - (cpu - self.cpu0), WALL_FACTOR * self.limit - (now - self.wall0))


def stream(job: Job, frames: Frames, wait: Callable[[float], None],
           exit_code: Callable[[], int | None], release: Callable[[], None],
           oom: Callable[[], bool] | None = None,
           cpu: Callable[[], float | None] | None = None) -> Iterator[Event]:
    """Events from the runner in their legal order, under the job's deadlines; `wait(t)` feeds
    `frames` (or not) within t seconds, `release()` sends the hidden calls. Ends with done,
    compile_error, or a synthetic `killed` event, which says `"oom": True` when `oom()` tells
    that the submission's memory cgroup killed a process of it. `cpu()` is the jail's CPU
    seconds so far (None: not readable), which the learner's limits then charge."""
    for event in _stream(job, frames, wait, exit_code, release, _Sampled(cpu)):
        if event.kind == "killed" and oom is not None and oom():
            event.header["oom"] = True
        yield event


class _Sampled:
    """`cpu` read at most once per POLL_S between a call's events (a runner that sends its bytes
    one at a time must not make the judge read a cgroup file for each), freshly at an event (a
    clock starts on the true figure), its last reading kept when a later one fails (a
    container's group goes as it exits): a clock started on CPU time stays on it."""

    def __init__(self, cpu: Callable[[], float | None] | None) -> None:
        self.cpu = cpu
        self.last: float | None = None
        self.read_at = float("-inf")

    def __call__(self, fresh: bool = False) -> float | None:
        now = time.monotonic()
        if self.cpu is not None and (fresh or now - self.read_at >= POLL_S):
            self.read_at = now
            value = self.cpu()
            if value is not None:
                self.last = value
        return self.last


def _stream(job: Job, frames: Frames, wait: Callable[[float], None],
            exit_code: Callable[[], int | None], release: Callable[[], None],
            cpu: _Sampled) -> Iterator[Event]:
    # Until `ready` the runner starts (interpreter, import jax): the judge's own work, bounded
    # by READY_S of wall clock, and a jail that misses it is never the learner's fault
    # (run_calls tries again, then reports a judge error). The learner's clocks start at
    # `ready`: startup_s to load their file, startup_s + total_time_s for it and the calls,
    # time_per_test_s from each call's start. On a busy grader, import jax alone once took
    # more than a tight problem's 15 s of start-up.
    clock = total = Clock.start(max(job.startup_s, READY_S), None)
    order = Order(len(job.tests), job.n_public, job.groups or (None,) * len(job.tests))
    try:
        while True:
            while (event := frames.next()) is not None:
                order.check(event)
                paths = job.leaves_of(event.test)
                if (event.kind == "result" and (event.arrays is None) != (not paths)) \
                        or (event.arrays is not None and len(event.arrays) != len(paths)):
                    raise ProtocolError("a result of another structure than the job's")
                if event.kind == "more":
                    release()
                    continue
                if event.kind == "ready":
                    used = cpu(fresh=True)
                    clock = Clock.start(job.startup_s, used)
                    total = Clock.start(job.startup_s + job.total_time_s, used)
                if event.kind == "start":
                    clock = Clock.start(job.time_per_test_s, cpu(fresh=True))
                yield event
                if event.kind == "ready" and ((job.leaf_paths and event.header.get(
                        "structures") != 1) or (job.given and event.header.get("given") != 1)
                        or (job.entries and event.header.get("entries") not in (1, 2))
                        or (job.entry_returns and event.header.get("entries") != 2)):
                    yield Event("killed", header={"reason": "stale_runner"})
                    return
                if event.kind == "ready" and job.transforms \
                        and event.header.get("transforms") != 1:
                    yield Event("killed", header={"reason": "stale_transforms"})
                    return
                if event.kind in ("done", "compile_error"):
                    return
            if frames.eof:
                yield Event("killed", header={"reason": "exit", "code": exit_code()})
                return
            now, used = time.monotonic(), cpu()
            left = min(clock.left(now, used), total.left(now, used))
            if left <= 0:
                yield Event("killed", header={"reason": "timeout"})
                return
            if frames.trickling:  # a byte at a time: let them gather between wake-ups
                time.sleep(min(TRICKLE_S, left))
            wait(max(left, POLL_S) if used is not None else left)
    except ProtocolError as exc:
        yield Event("killed", header={"reason": "protocol", "message": str(exc)})


