"""A sandbox's one jail or container started ahead of its job, in one place for both backends:
filled for a limits key, handed to one job, closed when replaced or when the sandbox closes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:  # ready.py keeps its jails in a Slot
    from grader.sandbox.ready import LimitsKey


class Started(Protocol):
    """A jail or container started ahead of its job."""

    key: LimitsKey
    used: bool  # it has had its job
    born: float  # time.monotonic() when it was started

    def close(self) -> None: ...


S = TypeVar("S", bound=Started)


class Slot(Generic[S]):
    """A sandbox's one jail (or container) started ahead: of one limits key, handed to one job,
    replaced by `fill`, none kept once `shut`. Both backends keep theirs here."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ready: S | None = None
        self.closed = False

    def fill(self, key: LimitsKey, start: Callable[[], S | None]) -> None:
        """Starts one of `key` unless one is there or the slot is shut; one of another key is
        closed first (one per sandbox). One that ends up unwanted (shut meanwhile) is closed."""
        with self.lock:
            if self.closed or (self.ready is not None and self.ready.key == key):
                return
            old, self.ready = self.ready, None
        if old is not None:
            old.close()
        new = start()
        if new is None:
            return
        with self.lock:
            if not self.closed and self.ready is None:
                self.ready, new = new, None
        if new is not None:
            new.close()

    def take(self, key: LimitsKey, max_wait_s: float, alive: Callable[[S], bool]) -> S | None:
        """The ready one, taken out, if it is of `key`, unused, started less than `max_wait_s`
        ago and `alive`; else None, and the one that was there (of another key, dead or stale)
        is closed: it would hold a uid or a container for nothing."""
        with self.lock:
            started, self.ready = self.ready, None
        if started is None:
            return None
        if started.key != key or started.used or not alive(started) \
                or time.monotonic() - started.born > max_wait_s:
            started.close()
            return None
        return started

    def shut(self) -> None:
        """Closes the ready one; none is kept after this."""
        with self.lock:
            self.closed = True
            started, self.ready = self.ready, None
        if started is not None:
            started.close()
