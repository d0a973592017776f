"""Who reads the database for the event streams: one poller per web process, for all of them.

Each open stream is a `Watch` (a submission, the last event it was sent, a queue). A tick of
the poller sends ONE query for the submissions it polls (their state, and their current
attempt's events after the oldest cursor watching them) and puts on each watch's queue what
that watch has not seen; ticks are at least `poll_seconds` apart, so a burst of changes
costs one query per tick. A tick with nothing to poll queries nothing.

What a tick polls: submissions that changed since the last tick and are watched (each
write that a stream shows announces its submission: store/notices.py), a new watch's own
submission, and, every `safety_poll_seconds`, every watched one (what a notification lost
while the listener reconnected would have said). The changes come from the process's own
writes (any database) and, on PostgreSQL, from one LISTEN connection per process. On
SQLite no signal crosses processes: while another grader process is alive (its heartbeat
row) the safety poll runs every `poll_seconds`, which is the old poll. `stream_notify`
false: every watched submission every tick.

Streams are capped per user (429) and per process (503): each holds a connection and a slot
in every tick's query, and a client disconnect frees its slot at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, or_, select

from grader.service.errors import TooMany, Unavailable
from grader.service.settings import Settings
from grader.service.store import fleet
from grader.service.store.db import Database
from grader.service.store.models import Event, SubmissionRow
from grader.service.store.notices import Listener

log = logging.getLogger("jaxjudge.streams")
CHUNK = 500  # watched submissions per statement (bind parameters stay far below any limit)
RETRY_S = 5  # Retry-After when a cap refuses a stream: a grade takes 2-10 s
ALIVE_S = 60.0  # a grader process whose heartbeat is younger is alive (sweeps: every ≤10 s)


@dataclass(frozen=True)
class State:
    """What a stream reports of its submission (the columns it reads, no source or report)."""

    id: int
    status: str
    attempts: int
    verdict: str | None
    score: float | None
    counts: bool  # as the API says it: false for a Run, and for a grade the judge gave up on


@dataclass(frozen=True)
class Row:
    """One event row, as a stream reads it."""

    id: int
    attempt: int
    seq: int
    test: dict[str, Any]


@dataclass(eq=False)
class Watch:
    """One open stream. `after` is the (attempt, row id) of the last event it was given."""

    submission_id: int
    user_id: int
    after: tuple[int, int]
    updates: asyncio.Queue[tuple[State, list[Row]] | None] = field(default_factory=asyncio.Queue)

    def since(self, attempts: int) -> int:
        """Rows of the current attempt after this id are new to it (a newer attempt: all)."""
        return self.after[1] if self.after[0] == attempts else 0


class Streams:
    """The process's open streams, their caps and the shared poller."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings, self.db = settings, db
        self.watching: dict[int, set[Watch]] = {}
        self.per_user: Counter[int] = Counter()
        self.open_count = 0
        self.queries = 0  # statements the poller sent (for /metrics)
        self.ticks = 0
        self.refused: Counter[str] = Counter()
        self.notices: Counter[str] = Counter()  # changes heard: "database", "process"
        self._count = threading.Lock()
        self.changed: set[int] = set()  # watched submissions to poll at the next tick
        self.postgres = db.url.startswith("postgresql")
        self.elsewhere = False  # SQLite: another grader process is alive (no signal from it)
        self.listener: Listener | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()  # a watched verdict was written: tick without waiting
        self._task: asyncio.Task[None] | None = None
        if settings.stream_notify:
            db.on_change(lambda sids: self.hear(sids, "process"))
            db.on_final(self.hurry)

    # -- slots ------------------------------------------------------------------------------

    def open(self, user_id: int, submission_id: int, after: tuple[int, int]) -> Watch:
        """A new watch, or TooMany (this user's cap) / Unavailable (this process's cap)."""
        if self.per_user[user_id] >= self.settings.streams_per_user:
            self.refused["user"] += 1
            raise TooMany(f"at most {self.settings.streams_per_user} open event streams per "
                          "user; close one (or reload the page later)", retry_after=RETRY_S)
        if self.open_count >= self.settings.streams_total:
            self.refused["process"] += 1
            raise Unavailable("too many open event streams on this server; try again",
                              retry_after=RETRY_S)
        watch = Watch(submission_id, user_id, after)
        self.watching.setdefault(submission_id, set()).add(watch)
        self.per_user[user_id] += 1
        self.open_count += 1
        if self._task is None or self._task.done():  # the first stream (of this event loop)
            self._wake, self._hurry = asyncio.Event(), asyncio.Event()
            self._loop = asyncio.get_running_loop()
            self._task = self._loop.create_task(self._run(), name="streams")
            if self.settings.stream_notify and self.postgres and self.listener is None:
                self.listener = Listener(self.db.url, lambda sid: self.hear({sid}, "database"),
                                         self.reconnected)
                self.listener.start()
        self._mark({submission_id})  # its first poll: what it missed, or that it is done
        return watch

    def close(self, watch: Watch) -> None:
        """Frees the slot (idempotent: a stream may end and be cancelled both)."""
        watchers = self.watching.get(watch.submission_id)
        if watchers is None or watch not in watchers:
            return
        watchers.discard(watch)
        if not watchers:
            del self.watching[watch.submission_id]
        self.per_user[watch.user_id] -= 1
        if self.per_user[watch.user_id] <= 0:
            del self.per_user[watch.user_id]
        self.open_count -= 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.listener is not None:
            await asyncio.to_thread(self.listener.stop)

    # -- what to poll: changes heard, from any thread ----------------------------------------

    def hear(self, sids: set[int], source: str) -> None:
        """Submissions changed (a committed write): the watched ones are polled next tick.
        Called from the writer's or the listener's thread."""
        with self._count:
            self.notices[source] += len(sids)
        loop, watched = self._loop, [sid for sid in sids if sid in self.watching]
        if watched and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._mark, set(watched))

    def hurry(self, sids: set[int]) -> None:
        """Verdicts this process wrote (after `hear` of the same commit): a watched one is sent
        at the next tick, which comes at once instead of after `poll_seconds`. One extra query
        at most per verdict, and only for a watched submission."""
        loop = self._loop
        if any(sid in self.watching for sid in sids) and loop is not None \
                and not loop.is_closed():
            loop.call_soon_threadsafe(self._hurry.set)

    def reconnected(self) -> None:
        """The listener (re)connected: what was sent meanwhile is lost, so poll all now."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(lambda: self._mark(set(self.watching)))

    def _mark(self, sids: set[int]) -> None:
        self.changed |= sids & self.watching.keys()
        self._wake.set()

    def due(self, full: bool) -> set[int]:
        """What this tick polls: every watched submission on a full poll, else the changed."""
        if full or not self.settings.stream_notify:
            return set(self.watching)
        return self.changed & self.watching.keys()

    def safety_s(self) -> float:
        fast = self.elsewhere or not self.settings.stream_notify
        return self.settings.poll_seconds if fast else self.settings.safety_poll_seconds

    # -- the source: one query per tick -----------------------------------------------------

    async def _run(self) -> None:
        failing, loop, next_full = False, asyncio.get_running_loop(), 0.0
        while True:
            if not self.watching:
                self._wake.clear()
                await self._wake.wait()
                continue
            full = loop.time() >= next_full
            polled = self.due(full)
            if not polled:  # nothing changed: sleep until a change or the safety poll
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(next_full - loop.time(), 0))
                continue
            self.changed -= polled  # a change heard from now on is polled again next tick
            cursors = {sid: w for sid, w in self.cursors().items() if sid in polled}
            try:
                found = await asyncio.to_thread(self._poll, cursors, full)
            except Exception as exc:  # the database away: streams wait, bounded by lifetime
                self.changed |= polled
                if not failing:
                    log.warning("event poll failed: %s: %s", type(exc).__name__, exc)
                failing = True
            else:
                failing = False
                if full:
                    next_full = loop.time() + self.safety_s()
                try:
                    self.fan_out(set(cursors), found)
                except Exception:  # a bug here must not stop every stream's updates
                    log.exception("event fan-out failed")
            self.ticks += 1
            with contextlib.suppress(TimeoutError):  # ticks poll_seconds apart, unless hurried
                await asyncio.wait_for(self._hurry.wait(), self.settings.poll_seconds)
            self._hurry.clear()

    def cursors(self) -> dict[int, set[tuple[int, int]]]:
        """Per watched submission, the distinct (attempt, row id) its watchers have reached."""
        return {sid: {w.after for w in watchers} for sid, watchers in self.watching.items()}

    def _poll(self, cursors: dict[int, set[tuple[int, int]]], full: bool = False
              ) -> dict[int, tuple[State, list[Row]]]:
        if full and self.settings.stream_notify and not self.postgres:
            with self.db.session() as s:  # SQLite: are there graders we cannot hear?
                self.queries += 1
                self.elsewhere = fleet.others(s, ALIVE_S) > 0
        found: dict[int, tuple[State, list[Row]]] = {}
        sids = sorted(cursors)
        for i in range(0, len(sids), CHUNK):
            found.update(self._query({sid: cursors[sid] for sid in sids[i:i + CHUNK]}))
        return found

    def _query(self, cursors: dict[int, set[tuple[int, int]]]
               ) -> dict[int, tuple[State, list[Row]]]:
        # Rows of each submission's current attempt (older attempts' are stale) newer than
        # what its least advanced watcher saw; a watcher of an older attempt sees them all.
        oldest: dict[tuple[int, int], int] = {}
        for sid, afters in cursors.items():
            for attempt, row in afters:
                oldest[sid, attempt] = min(row, oldest.get((sid, attempt), row))
        new = or_(*(and_(SubmissionRow.id == sid, Event.id > case(
            (SubmissionRow.attempts == attempt, row), else_=0))
            for (sid, attempt), row in oldest.items()))
        stmt = (select(SubmissionRow.id, SubmissionRow.status, SubmissionRow.attempts,
                       SubmissionRow.verdict, SubmissionRow.score, SubmissionRow.counts,
                       SubmissionRow.run, Event.id, Event.attempt, Event.seq, Event.test)
                .outerjoin(Event, and_(Event.submission_id == SubmissionRow.id,
                                       Event.attempt == SubmissionRow.attempts, new))
                .where(SubmissionRow.id.in_(list(cursors)))
                .order_by(SubmissionRow.id, Event.id))
        out: dict[int, tuple[State, list[Row]]] = {}
        with self.db.session() as s:
            self.queries += 1
            for r in s.execute(stmt).tuples():
                if r[0] not in out:
                    out[r[0]] = (State(r[0], r[1], r[2], r[3], r[4], r[5] and not r[6]), [])
                if r[7] is not None:
                    out[r[0]][1].append(Row(r[7], r[8], r[9], r[10]))
        return out

    # -- fan-out: any source --------------------------------------------------------------

    def fan_out(self, polled: set[int], found: dict[int, tuple[State, list[Row]]]) -> None:
        """Gives each watch of a polled submission what is new to it: the state when it
        changed for it (new rows, a new attempt, or final), and the rows after its cursor.
        A submission polled and not found was deleted: its streams end."""
        for sid in polled:
            for watch in list(self.watching.get(sid, ())):
                if sid not in found:
                    watch.updates.put_nowait(None)
                    continue
                state, rows = found[sid]
                since = watch.since(state.attempts)
                fresh = [r for r in rows if r.attempt == state.attempts and r.id > since]
                moved = state.attempts > watch.after[0]
                if fresh:
                    watch.after = (state.attempts, fresh[-1].id)
                elif moved:
                    watch.after = (state.attempts, 0)
                if fresh or moved or state.status == "done":
                    watch.updates.put_nowait((state, fresh))
