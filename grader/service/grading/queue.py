"""The work queue (Huey): SQLite by default, Redis across machines; it carries no data at all.

A task is one unit of grading capacity, "grade the fairest waiting submission": the database
decides which. Huey acknowledges nothing, so a task dequeued by a consumer that is then killed
is gone; the graders' sweeper enqueues capacity again for every claimable row (worker.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer, Worker

from grader.errors import JudgeError

TASK = "jaxjudge.grade_next"

log = logging.getLogger("jaxjudge.queue")

# Per queue URL, rung by this process's enqueues: its idle workers (when graders run in the
# process that takes the submission, as `jaxjudge serve` does) take the task at once instead
# of at their next poll. Other processes' enqueues reach them by polling, as before.
_doorbells: dict[str, threading.Event] = {}
_doorbells_lock = threading.Lock()


def _doorbell(url: str) -> threading.Event:
    with _doorbells_lock:
        return _doorbells.setdefault(url, threading.Event())


def make_huey(url: str) -> Huey:
    parsed = urlparse(url)
    if parsed.scheme in ("redis", "rediss"):
        return RedisHuey("jaxjudge", url=url, results=False)
    if parsed.scheme == "sqlite":
        path = Path(url.removeprefix("sqlite://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("jaxjudge", filename=str(path), results=False, timeout=10)
    raise JudgeError(f"queue URL {url!r}: expected sqlite:///PATH or redis://HOST[:PORT]/DB")


class Queue:
    """Enqueues capacity; with a handler, also runs it (in a consumer) for each task."""

    def __init__(self, url: str, handler: Callable[[], Any] | None = None) -> None:
        self.url = url
        self.huey = make_huey(url)
        self.handler = handler

        def grade_next() -> None:
            if self.handler is None:
                raise JudgeError("this process has no graders")
            self.handler()

        self.task = self.huey.task(name=TASK)(grade_next)

    def enqueue(self, n: int = 1) -> None:
        for _ in range(n):
            self.task()
        _doorbell(self.url).set()

    def wake(self, n: int = 1, submission: int | None = None) -> None:
        """Enqueues capacity for rows already committed. The queue is only a doorbell: when it
        is away the rows wait for a grader's sweep, which tops the queue up again, so its
        failure is logged, never the error of the request that committed them."""
        try:
            self.enqueue(n)
        except Exception:
            log.warning("queue unavailable; %d submission(s) wait for a sweeper", n,
                        extra={"submission": submission} if submission else {}, exc_info=True)

    def pending(self) -> int:
        return int(self.huey.pending_count())

    def consumer(self, workers: int, poll_s: float, in_thread: bool,
                 on_stop: Callable[[], None], stop_timeout: float) -> Consumer:
        """Worker threads polling every ≤ 2·poll_s (Huey backs off up to max_delay when idle:
        kept short so that a submission waits for a grader by milliseconds, not seconds).
        SIGTERM stops it gracefully (Huey's default is SIGINT): what is being graded finishes,
        within stop_timeout, and nothing new is taken; SIGINT stops it at once."""
        cls = _QuietConsumer if in_thread else _Consumer
        consumer: Consumer = cls(self.huey, doorbell=_doorbell(self.url), workers=workers,
                                 periodic=False,
                                 initial_delay=poll_s / 2, backoff=1.15, max_delay=poll_s * 2,
                                 worker_type="thread", check_worker_health=True,
                                 shutdown_timeout=stop_timeout, graceful_signal="TERM")
        consumer.on_stop = on_stop
        return consumer


class _Waking(Worker):  # type: ignore[misc]
    """A worker whose idle wait ends when this process enqueues (see _doorbell) or its poll
    interval passes, whichever comes first."""

    doorbell: threading.Event
    delay: float
    default_delay: float
    max_delay: float
    backoff: float

    def sleep(self) -> None:
        self.delay = min(self.delay, self.max_delay)
        if self.doorbell.wait(self.delay):
            self.doorbell.clear()
            self.delay = self.default_delay
        else:
            self.delay *= self.backoff


class _Consumer(Consumer):  # type: ignore[misc]
    """Tells the graders first when it stops, so that no task that is already dequeued
    claims a submission after the signal."""

    on_stop: Callable[[], None]
    worker_class = _Waking

    def __init__(self, *args: Any, doorbell: threading.Event, **kwargs: Any) -> None:
        self.doorbell = doorbell  # before the workers, which the base constructor makes
        super().__init__(*args, **kwargs)

    def _create_worker(self) -> Worker:
        worker: _Waking = super()._create_worker()
        worker.doorbell = self.doorbell
        return worker

    def stop(self, graceful: bool = False) -> None:
        self.on_stop()
        super().stop(graceful=graceful)


class _QuietConsumer(_Consumer):
    """A consumer that runs beside uvicorn: uvicorn owns the process's signals."""

    def _set_signal_handlers(self) -> None:
        pass
