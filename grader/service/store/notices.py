"""Telling event streams that a submission changed: PostgreSQL NOTIFY, and in-process signals.

A writer of what a stream shows (an event row, a claim's new attempt, a verdict, a rejudge)
calls `announce` in its transaction. On PostgreSQL that is `pg_notify` in the same
transaction, so the notification is delivered only if the write commits (no trigger, no
migration); on any database the process's own listeners hear it after the commit
(`Database.on_change`). A `Listener` is one web process's LISTEN connection, on a thread of
its own, reconnected with a bounded backoff; notifications lost meanwhile are made up by the
streams' slow safety poll and by `on_connect`, which re-polls everything watched."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from grader.service.store.db import CHANGED, FINAL

CHANNEL = "jaxjudge_submissions"
log = logging.getLogger("jaxjudge.notices")


def announce(session: Session, *sids: int, final: bool = False) -> None:
    """Marks submissions changed by this session's transaction (sent when it commits); `final`:
    it wrote their verdicts, which this process's streams then send at once (Database.on_final)."""
    if not sids:
        return
    session.info.setdefault(CHANGED, set()).update(sids)
    if final:
        session.info.setdefault(FINAL, set()).update(sids)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, s) FROM unnest(CAST(:ids AS text[])) s"),
                        {"channel": CHANNEL, "ids": sorted({str(i) for i in sids})})


def conninfo(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://…) as a libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """LISTEN on one connection; `on_notice(id)` per notification, `on_connect()` after each
    (re)connection (what was sent while it was away is lost: the caller polls everything).
    Runs until `stop()`; each failed connection waits longer, up to `MAX_BACKOFF_S`."""

    WAIT_S = 1.0  # how long one wait for notifications lasts: how soon `stop()` is seen
    FIRST_BACKOFF_S, MAX_BACKOFF_S = 0.5, 30.0

    def __init__(self, url: str, on_notice: Callable[[int], None],
                 on_connect: Callable[[], None]) -> None:
        self.conninfo = conninfo(url)
        self.on_notice, self.on_connect = on_notice, on_connect
        self.stopping = threading.Event()
        self.connects = 0  # connections made (the first, then each reconnection)
        self.thread = threading.Thread(target=self._run, daemon=True, name="notices")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(self.WAIT_S * 5)

    def _run(self) -> None:
        self.pause = self.FIRST_BACKOFF_S
        while not self.stopping.is_set():
            try:
                self._listen()
            except Exception as exc:
                if self.stopping.is_set():
                    return
                first = (str(exc).strip().splitlines() or [""])[0]
                log.warning("event notifications lost (%s: %s); reconnecting in %.1f s, "
                            "streams meanwhile polled every few seconds",
                            type(exc).__name__, first, self.pause)
                self.stopping.wait(self.pause)
                self.pause = min(self.pause * 2, self.MAX_BACKOFF_S)

    def _listen(self) -> None:
        # Keepalives: a peer that vanished without closing (a network cut) fails the wait
        # within about half a minute rather than never.
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=3, keepalives=1,
                             keepalives_idle=10, keepalives_interval=5,
                             keepalives_count=3) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.connects += 1
            self.pause = self.FIRST_BACKOFF_S
            if self.connects > 1:
                log.info("event notifications: listening again")
            self.on_connect()
            while not self.stopping.is_set():
                # Notifications that arrive between two waits are kept by psycopg (its
                # backlog) and yielded first by the next one.
                for notice in conn.notifies(timeout=self.WAIT_S):
                    try:
                        sid = int(notice.payload)
                    except ValueError:
                        continue  # not ours: anyone connected may NOTIFY this channel
                    self.on_notice(sid)
