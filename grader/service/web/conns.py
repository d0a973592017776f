"""Deadlines on the connection itself, which uvicorn does not have: a request head must be
complete within `header_timeout` seconds of the connection opening (or of the previous answer
on a kept-alive connection), and its body within `body_timeout` seconds of the head. Without
them a visitor holds a connection (a socket, a task, memory) forever by sending nothing, half a
head, or a body one byte at a time. What comes after the request (the answer, an event stream
of many minutes) has no deadline here; an idle kept-alive connection closes after uvicorn's
`timeout_keep_alive`."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("jaxjudge.conns")


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a timer per request phase: "head" while the request head
    is incomplete (from the connection or the previous answer, whichever is later), "body"
    while its body is; none once the request is all in. A phase's timer is armed when the
    phase begins and not moved by the bytes that trickle in; when it fires, the connection
    is closed."""

    header_timeout = 10.0
    body_timeout = 20.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: str | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start the next cycle (kept alive, pipelined)
        self._follow()

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = None

    def _follow(self) -> None:
        """Arms the timer of the phase the request is in, if it just began; else leaves it."""
        if (self.transport is None or self.transport.is_closing()
                or self.transport.get_protocol() is not self):  # closed, or upgraded
            self._disarm()
            return
        state = self.conn.their_state
        phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self._phase:
            return
        self._disarm()
        if phase is not None:
            seconds = self.header_timeout if phase == "head" else self.body_timeout
            self._phase = phase
            self._deadline = self.loop.call_later(seconds, self._expired, phase)

    def _expired(self, phase: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if phase == "body" and self.flow.read_paused and not self.cycle.response_complete:
            # We stopped reading (the app has not taken the body yet): not the visitor's delay.
            self._deadline = self.loop.call_later(self.body_timeout, self._expired, phase)
            return
        log.debug("closing a connection from %s: request %s not complete in time",
                  self.client[0] if self.client else "-", phase)
        self.transport.close()


def protocol(header_timeout: float, body_timeout: float) -> type[DeadlineProtocol]:
    """The protocol class for uvicorn's `http=` with these deadlines (seconds)."""
    return type("DeadlineProtocol", (DeadlineProtocol,),
                {"header_timeout": header_timeout, "body_timeout": body_timeout})
