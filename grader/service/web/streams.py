"""Who reads the database for the event streams: one poller per web process, for all of them.

Each open stream is a `Watch` (a submission, the last event it was sent, a queue). Every tick
the poller sends ONE query for every watched submission at once (its state, and its current
attempt's events after the oldest cursor watching it) and puts on each watch's queue what that
watch has not seen. A tick with nothing watched queries nothing. The poll is only the source:
`fan_out` takes rows from anywhere, so a LISTEN/NOTIFY source could replace `_poll` later.

Streams are capped per user (429) and per process (503): each holds a connection and a slot
in every tick's query, and a client disconnect frees its slot at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, or_, select

from grader.service.errors import TooMany, Unavailable
from grader.service.settings import Settings
from grader.service.store.db import Database
from grader.service.store.models import Event, SubmissionRow

log = logging.getLogger("jaxjudge.streams")
CHUNK = 500  # watched submissions per statement (bind parameters stay far below any limit)
RETRY_S = 5  # Retry-After when a cap refuses a stream: a grade takes 2-10 s


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
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

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
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="streams")
        self._wake.set()
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

    # -- the source: one query per tick -----------------------------------------------------

    async def _run(self) -> None:
        failing = False
        while True:
            if not self.watching:
                self._wake.clear()
                await self._wake.wait()
                continue
            cursors = self.cursors()
            try:
                found = await asyncio.to_thread(self._poll, cursors)
            except Exception as exc:  # the database away: streams wait, bounded by lifetime
                if not failing:
                    log.warning("event poll failed: %s: %s", type(exc).__name__, exc)
                failing = True
            else:
                failing = False
                try:
                    self.fan_out(set(cursors), found)
                except Exception:  # a bug here must not stop every stream's updates
                    log.exception("event fan-out failed")
            self.ticks += 1
            await asyncio.sleep(self.settings.poll_seconds)

    def cursors(self) -> dict[int, set[tuple[int, int]]]:
        """Per watched submission, the distinct (attempt, row id) its watchers have reached."""
        return {sid: {w.after for w in watchers} for sid, watchers in self.watching.items()}

    def _poll(self, cursors: dict[int, set[tuple[int, int]]]
              ) -> dict[int, tuple[State, list[Row]]]:
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
