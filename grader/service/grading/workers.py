"""Running graders: a Huey consumer whose tasks grade, and a sweeper that keeps leases honest."""

from __future__ import annotations

import logging
import threading

from huey.consumer import Consumer

from grader.service.grading.graders import Graders
from grader.service.grading.queue import Queue
from grader.service.settings import Settings
from grader.service.store import fleet
from grader.service.store.db import Database

log = logging.getLogger("jaxjudge.worker")


class Workers:
    """`jobs` graders in this process (each with its own sandbox slot) and their sweeper, which
    also beats this process's heartbeat row."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.graders = Graders(settings, db)
        self.queue = Queue(settings.queue_url(), handler=self.graders.grade_next)
        self.stopping = threading.Event()
        self.consumer: Consumer | None = None
        self.sweeper = threading.Thread(target=self._sweep_loop, daemon=True, name="sweeper")

    def _consumer(self, in_thread: bool) -> Consumer:
        return self.queue.consumer(self.settings.jobs, self.settings.poll_seconds, in_thread,
                                   on_stop=self._stopping, stop_timeout=self.settings.stop_seconds)

    def start(self) -> None:
        """Beside a web server: the consumer's threads, no signal handlers of its own."""
        self._recover()
        self.consumer = self._consumer(in_thread=True)
        self.consumer.start()
        self.sweeper.start()

    def run(self) -> None:
        """In the foreground (`jaxjudge worker`): SIGTERM stops gracefully, SIGINT at once."""
        self._recover()
        self.sweeper.start()
        self.consumer = self._consumer(in_thread=False)
        try:
            self.consumer.run()
        finally:
            self._left()

    def stop(self) -> None:
        if self.consumer is not None:
            self.consumer.stop(graceful=True)
        self._left()

    def _stopping(self) -> None:
        if not self.graders.stopping.is_set():
            log.info("stopping: finishing %d submission(s) being graded, taking no new ones",
                     self.graders.busy)
        self.graders.stopping.set()
        try:
            self._beat("stopping")
        except Exception:  # the database away must not turn a graceful stop into a crash
            log.warning("could not mark this grader as stopping")

    def _left(self) -> None:
        self.stopping.set()
        self.graders.close()  # the slots' ready jails: killed, their cgroups and folders gone
        try:
            with self.db.session() as s:
                fleet.leave(s)
        except Exception:
            log.warning("could not remove this grader's heartbeat row", exc_info=True)
        log.info("graders stopped")

    def _recover(self) -> None:
        """Before taking new work: what a previous process left behind (best effort: with the
        database or queue out now, the sweeper's next period does it)."""
        try:
            self.sweep()
        except Exception:
            log.warning("start-up sweep failed", exc_info=True)

    def _beat(self, state: str) -> None:
        with self.db.session() as s:
            fleet.beat(s, self.settings.jobs, state)

    def sweep(self) -> None:
        """Tops queue capacity up to the claimable rows: tasks lost with a killed consumer, with
        a Redis that restarted empty, or never enqueued (a server that died between commit and
        enqueue, or could not reach the queue) come back here."""
        self._beat("stopping" if self.graders.stopping.is_set() else "running")
        claimable = self.graders.sweep()
        missing = claimable - self.queue.pending()
        if missing > 0:
            log.info("sweeper: %d claimable submissions without a task; enqueueing", missing,
                     extra={"enqueued": missing})
            self.queue.enqueue(missing)

    def sweep_period(self) -> float:
        return min(max(self.settings.lease_seconds / 3, 0.5), 10.0)

    def _sweep_loop(self) -> None:
        while not self.stopping.wait(self.sweep_period()):
            try:
                self.sweep()
            except Exception as exc:  # the database or Redis away: try again next period
                log.warning("sweep failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
