"""Running graders: a Huey consumer whose tasks grade, and a sweeper that keeps leases honest."""

from __future__ import annotations

import logging
import threading

from huey.consumer import Consumer

from grader.service.db import Database
from grader.service.grading import Graders
from grader.service.queue import Queue
from grader.service.settings import Settings

log = logging.getLogger("jaxjudge.worker")


class Workers:
    """`jobs` graders in this process (each with its own sandbox slot) and their sweeper."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.graders = Graders(settings, db)
        self.queue = Queue(settings.queue_url(), handler=self.graders.grade_next)
        self.stopping = threading.Event()
        self.consumer: Consumer | None = None
        self.sweeper = threading.Thread(target=self._sweep_loop, daemon=True, name="sweeper")

    def start(self) -> None:
        """Beside a web server: the consumer's threads, no signal handlers of its own."""
        self.sweep()  # recover what a previous process left before taking new work
        self.consumer = self.queue.consumer(self.settings.jobs, self.settings.poll_seconds,
                                            in_thread=True)
        self.consumer.start()
        self.sweeper.start()

    def run(self) -> None:
        """In the foreground (`jaxjudge worker`): Huey handles SIGINT (graceful) and SIGTERM."""
        self.sweep()
        self.sweeper.start()
        self.consumer = self.queue.consumer(self.settings.jobs, self.settings.poll_seconds,
                                            in_thread=False)
        try:
            self.consumer.run()
        finally:
            self.stopping.set()

    def stop(self) -> None:
        self.stopping.set()
        if self.consumer is not None:
            self.consumer.stop(graceful=True)

    def sweep(self) -> None:
        """Tops queue capacity up to the claimable rows: tasks lost with a killed consumer (or
        never enqueued by a server that died between commit and enqueue) come back here."""
        claimable = self.graders.sweep()
        missing = claimable - self.queue.pending()
        if missing > 0:
            log.info("sweeper: %d claimable submissions without a task; enqueueing", missing)
            self.queue.enqueue(missing)

    def _sweep_loop(self) -> None:
        period = min(max(self.settings.lease_seconds / 3, 0.5), 10.0)
        while not self.stopping.wait(period):
            try:
                self.sweep()
            except Exception:  # a locked database or a lost Redis: try again next period
                log.warning("sweep failed", exc_info=True)
