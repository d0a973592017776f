"""The runner's result channel, read by the judge: bounded flat frames in one legal order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HEADER_BYTES = 4096
SMALL_FEED = 4096  # bytes: a chunk this small that completes no frame is a trickle's
TRICKLE_FEEDS = 8  # that many in a row, and the reader waits TRICKLE_S between reads
# The runner only ever reports these for a learner's exception; any other claim is forged.
ERROR_VERDICTS = ("runtime_error", "memory_limit_exceeded")
EVENTS = ("ready", "compile_error", "more", "start", "result", "error", "output_limit",
          "skipped", "mismatch", "done")
OUTCOMES = ("result", "error", "output_limit", "skipped", "mismatch")
# A structured result (a tuple or tree return) holds at most this many arrays of at most
# MAX_NDIM dims each; the judge also holds it to the declared count (protocol.stream).
MAX_LEAVES = 256
MAX_NDIM = 32


class ProtocolError(ValueError):
    """Bytes on the result channel that the runner would never write: the learner's doing."""


@dataclass
class Event:
    kind: str  # one of EVENTS, or `killed`, which the judge makes when the run ends early
    test: int | None = None
    header: dict[str, Any] = field(default_factory=dict)
    array: np.ndarray | None = None
    arrays: tuple[np.ndarray, ...] | None = None  # a structured result's leaves, in order


def _flat(raw: bytes) -> None:
    """Headers are one object of scalars and a list of ints: anything deeper is refused before
    json.loads, whose recursion a line of 3,000 brackets would exhaust."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > 2:
                raise ProtocolError("result header nested too deeply")
        elif byte in (0x7D, 0x5D):
            depth -= 1


class Frames:
    """Parses the runner's frames from fed bytes; anything malformed raises ProtocolError."""

    def __init__(self, limit: int) -> None:
        self.limit, self.buf, self.eof = limit, bytearray(), False
        # The header whose payload is still arriving, parsed once: a runner (or a learner's
        # forgery) that trickles a payload byte by byte must not make the judge parse its
        # header again for every byte.
        self._pending: tuple[int, dict[str, Any], int] | None = None
        self._small_feeds = 0  # small chunks fed since a frame last completed

    @property
    def trickling(self) -> bool:
        """Whether bytes come a few at a time and complete no frame (the runner writes a frame
        at once; a learner's forgery may not): the reader should then wait a little between
        reads, so that each byte does not cost the judge a wake-up."""
        return self._small_feeds >= TRICKLE_FEEDS

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            self.eof = True
        self.buf.extend(chunk)
        if len(chunk) < SMALL_FEED:
            self._small_feeds += 1
        if len(self.buf) > self.limit:
            raise ProtocolError("result channel over its size cap")

    def next(self) -> Event | None:
        if self._pending is None:
            nl = self.buf.find(b"\n", 0, HEADER_BYTES + 1)
            if nl < 0:
                if len(self.buf) > HEADER_BYTES:
                    raise ProtocolError("result header too long")
                return None
            raw = bytes(self.buf[:nl])
            _flat(raw)
            try:
                header = json.loads(raw)
                nbytes = header["nbytes"]
            except (KeyError, TypeError, ValueError) as exc:
                raise ProtocolError(f"malformed result header: {exc}") from exc
            if type(nbytes) is not int or nbytes < 0:
                raise ProtocolError("bad nbytes")
            self._pending = (nl, header, nl + 1 + nbytes)
        nl, header, end = self._pending
        if len(self.buf) < end:
            return None
        self._pending, self._small_feeds = None, 0
        payload = bytes(self.buf[nl + 1:end])
        del self.buf[:end]
        return _event(header, payload)


def _event(header: dict[str, Any], payload: bytes) -> Event:
    """Validates one frame completely: whatever the learner forged ends as ProtocolError."""
    try:
        kind, test = header["event"], header.get("test")
        if kind not in EVENTS or not (test is None or type(test) is int):
            raise ProtocolError(f"unknown event {kind!r} or test {test!r}")
        if kind == "error" and header.get("verdict") not in ERROR_VERDICTS:
            raise ProtocolError(f"verdict {header.get('verdict')!r} is not the runner's to give")
        array, arrays = None, None
        if kind == "result" and "leaves" in header:
            arrays = _leaves(header, payload)
        elif kind == "result":
            dtype = np.dtype(header["dtype"])
            if dtype.kind not in "biuf" or dtype.hasobject:
                raise ProtocolError("non-numeric dtype")
            array = np.frombuffer(payload, dtype=dtype).reshape(header["shape"])
        elif kind == "mismatch" and type(header.get("message")) is not str:
            raise ProtocolError("a mismatch frame says what was expected")
        elif payload:
            raise ProtocolError(f"a {kind} frame carries no payload")
    except ProtocolError:
        raise
    except Exception as exc:  # numpy's errors for absurd dtypes and shapes are many
        raise ProtocolError(f"malformed result frame: {exc}") from exc
    return Event(kind, test, header, array, arrays)


def _leaves(header: dict[str, Any], payload: bytes) -> tuple[np.ndarray, ...]:
    """A structured result's arrays: counts, dtypes and dims checked against each other and the
    payload's exact length before any array is made (sizes in Python ints: no overflow)."""
    n, dtypes, ndims, dims = header["leaves"], header["dtypes"], header["ndims"], header["dims"]
    if type(n) is not int or not 1 <= n <= MAX_LEAVES or type(dtypes) is not list \
            or type(ndims) is not list or type(dims) is not list \
            or len(dtypes) != n or len(ndims) != n:
        raise ProtocolError("malformed leaves of a structured result")
    if any(type(k) is not int or not 0 <= k <= MAX_NDIM for k in ndims) \
            or sum(ndims) != len(dims) or any(type(d) is not int or d < 0 for d in dims):
        raise ProtocolError("malformed dims of a structured result")
    out, offset, at = [], 0, 0
    for name, k in zip(dtypes, ndims, strict=True):
        if type(name) is not str:
            raise ProtocolError("non-numeric dtype")
        dtype = np.dtype(name)
        if dtype.kind not in "biuf" or dtype.hasobject:
            raise ProtocolError("non-numeric dtype")
        shape = dims[at:at + k]
        at += k
        count = 1
        for d in shape:
            count *= d
        size = count * dtype.itemsize
        if offset + size > len(payload):
            raise ProtocolError("a structured result's payload is shorter than its dims")
        out.append(np.frombuffer(payload, dtype=dtype, count=count, offset=offset)
                   .reshape(shape).copy())
        offset += size
    if offset != len(payload):
        raise ProtocolError("a structured result's payload is longer than its dims")
    return tuple(out)


class Order:
    """The one legal order: ready, then per call `start k` and its outcome (or `skipped k` once
    its check has failed), `more` exactly when the public calls are done, then `done`. The
    runner never deviates from it, so any deviation is forged."""

    def __init__(self, calls: int, public: int, groups: Sequence[int | None]) -> None:
        self.calls, self.public, self.groups = calls, public, groups
        self.ready, self.more, self.over = False, False, False
        self.next: int = 0
        self.current: int | None = None
        self.failed: set[int] = set()

    def check(self, event: Event) -> None:
        kind, test = event.kind, event.test
        if self.over or (not self.ready and kind != "ready"):
            raise ProtocolError(f"{kind} frame out of order")
        if kind == "ready":
            ok = not self.ready and test is None
            self.ready = True
        elif kind == "compile_error":
            ok = self.current is None and test is None
        elif kind == "more":
            ok = not self.more and self.current is None and self.next == self.public \
                and test is None
            self.more = True
        elif kind == "start":
            ok = self.current is None and test == self.next and self._released(test)
            self.current = test
        elif kind == "skipped":
            group = self.groups[test] if test is not None and 0 <= test < self.calls else None
            ok = self.current is None and test == self.next and self._released(test) \
                and group is not None and group in self.failed
            self.next += 1
        elif kind in OUTCOMES:
            ok = test is not None and test == self.current
            group = self.groups[test] if ok and test is not None else None
            if group is not None and kind != "result":
                self.failed.add(group)
            self.current, self.next = None, self.next + 1
        else:  # done
            ok = self.current is None and self.next == self.calls and test is None
        if not ok:
            raise ProtocolError(f"{kind} frame out of order (test {test!r})")
        self.over = kind in ("compile_error", "done")

    def _released(self, test: int | None) -> bool:
        return test is not None and test < self.calls and (test < self.public or self.more)
