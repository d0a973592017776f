"""A Docker container's attach socket: stdout and stderr multiplexed on one stream (frames
for the judge, the rest captured), read to its end after a stop; and its exit code."""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from typing import Any

from grader.sandbox.capture import Capture
from grader.sandbox.frames import Frames


def drain(sock: socket.socket, demux: Demux, seconds: float) -> None:
    """Feeds what is left on the attach socket until its end, within `seconds`."""
    end = time.monotonic() + seconds
    with contextlib.suppress(OSError):
        while (left := end - time.monotonic()) > 0 and select.select([sock], [], [], left)[0]:
            data = sock.recv(1 << 20)
            demux.feed(data)
            if not data:
                return


def exit_code(container: Any) -> int | None:
    """As subprocess reports it: a negative signal number when killed (137 -> -9)."""
    try:
        code = int(container.wait(timeout=10)["StatusCode"])
    except Exception:
        return None
    return -(code - 128) if code > 128 else code


class Demux:
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
