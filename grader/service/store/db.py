"""The database: one engine per URL, SQLite tuned for many readers and one writer at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 10_000
# A session's info key for the submissions its transaction changed (notices.announce): told to
# this process's listeners (`on_change`) once it commits, never when it rolls back.
CHANGED = "jaxjudge.changed"
# Those of them whose verdict it wrote: a stream's last event, which its poller hurries to.
FINAL = "jaxjudge.final"

log = logging.getLogger("jaxjudge.db")


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    # WAL lets the event streams read while a grader writes; the busy timeout makes a writer
    # wait for the lock instead of failing; foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pre_ping: a connection the server dropped (restart, failover, idle timeout) is replaced
    # before use instead of failing the request that drew it; connect_timeout bounds how long
    # a request waits on a database that is down (it then answers 503), and pool_timeout how
    # long it waits for a connection from a pool a burst has drained.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         pool_timeout=10, connect_args={"connect_timeout": 3})


class Database:
    """An engine and its session factory; `session()` commits on success, rolls back on error."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)
        # SQL statements this process sent (for /metrics): what a stream or page really costs.
        self.statements = 0
        self._lock = threading.Lock()
        event.listen(self.engine, "before_cursor_execute", self._count)
        self._changes: list[Callable[[set[int]], None]] = []
        self._finals: list[Callable[[set[int]], None]] = []

    def on_change(self, callback: Callable[[set[int]], None]) -> None:
        """`callback(ids)` after each commit of this process that announced submissions (from
        the committing thread): the in-process fan-out, on any database."""
        self._changes.append(callback)

    def on_final(self, callback: Callable[[set[int]], None]) -> None:
        """`callback(ids)` after each commit of this process that wrote their verdicts (after
        the on_change callbacks of the same commit)."""
        self._finals.append(callback)

    def changed(self, sids: set[int], final: set[int] | None = None) -> None:
        calls = [(c, sids) for c in self._changes] + [(c, final) for c in self._finals if final]
        for callback, ids in calls:
            try:
                callback(ids)
            except Exception:  # a listener's bug must not fail the write that committed
                log.exception("a change listener failed")

    def _count(self, *_: Any) -> None:
        with self._lock:
            self.statements += 1

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.factory() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise
            changed = s.info.pop(CHANGED, None)
            final = s.info.pop(FINAL, None)
        if changed:
            self.changed(changed, final)

    def migrate(self) -> None:
        from grader.service.store.migrate import upgrade

        upgrade(self.engine)
