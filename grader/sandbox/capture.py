"""What the learner's code printed, kept apart before and after hidden inputs reached the jail."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CAPTURE_BYTES = 64 * 1024
SENTINEL = b"\x1ejaxjudge: hidden inputs follow\x1e\n"  # as grader/runner.py writes it


class _Part:
    """The first and the last `keep/2` bytes of a stream, and how much was said in all."""

    def __init__(self, keep: int) -> None:
        self.half, self.head, self.tail, self.total = keep // 2, bytearray(), bytearray(), 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            del self.tail[:-self.half]

    def text(self) -> str:
        cut = self.total - len(self.head) - len(self.tail)
        middle = f"\n[... {cut} bytes cut ...]\n".encode() if cut else b""
        return (bytes(self.head) + middle + bytes(self.tail)).decode("utf-8", "replace")


class Capture:
    """Thread-safe: the sandbox's readers write while the judge marks the moment it releases the
    hidden inputs. Whatever was read before that mark was written before any hidden input
    existed in the jail, so it may be shown to the learner; the rest is for instructors."""

    def __init__(self, keep: int = CAPTURE_BYTES) -> None:
        self._lock = threading.Condition()
        self._parts = (_Part(keep), _Part(keep))
        self._hidden = False
        self.sentinels = 0

    def write(self, chunk: bytes) -> None:
        with self._lock:
            if SENTINEL in chunk:
                self.sentinels += chunk.count(SENTINEL)
                chunk = chunk.replace(SENTINEL, b"")
                self._lock.notify_all()
            self._parts[self._hidden].add(chunk)

    def settled(self, pump: Callable[[float], None] | None = None, timeout: float = 2.0) -> None:
        """Waits (bounded) until the runner's two sentinels have been read, so whatever it
        printed before asking for the hidden inputs is here; `pump(t)` reads for up to t
        seconds where no other thread does."""
        deadline = time.monotonic() + timeout
        while self.sentinels < 2 and (left := deadline - time.monotonic()) > 0:
            if pump is not None:
                pump(min(left, 0.05))
            else:
                with self._lock:
                    self._lock.wait_for(lambda: self.sentinels >= 2, timeout=left)

    def mark_hidden(self) -> None:
        with self._lock:
            self._hidden = True

    @property
    def released(self) -> bool:
        """Whether the hidden inputs have been sent to the jail."""
        return self._hidden

    @property
    def public(self) -> str:
        return self._parts[0].text()

    @property
    def hidden(self) -> str:
        return self._parts[1].text()

    def contains(self, *needles: bytes) -> bool:
        """Whether any needle shows in what was kept, for the judge's own diagnosis."""
        with self._lock:
            kept = [bytes(p.head) + b"\n" + bytes(p.tail) for p in self._parts]
        return any(n in k for n in needles for k in kept)
