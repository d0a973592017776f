"""An idle grader in the process that enqueues takes the task at once, not at its next poll."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from grader.service.grading.queue import Queue


def test_an_enqueue_in_this_process_wakes_an_idle_worker(tmp_path: Path) -> None:
    ran = threading.Event()
    url = f"sqlite://{tmp_path / 'queue.db'}"
    queue = Queue(url, handler=ran.set)
    # Polls 15 s apart at first: without the doorbell the task would wait that long.
    consumer = queue.consumer(1, poll_s=30.0, in_thread=True, on_stop=lambda: None,
                              stop_timeout=5.0)
    consumer.start()
    try:
        time.sleep(0.5)  # its first look finds nothing: it is asleep now
        Queue(url).enqueue()  # another Queue object of this process, as the web app's is
        assert ran.wait(10.0), "the task waited for the worker's poll"
    finally:
        consumer.stop(graceful=False)
