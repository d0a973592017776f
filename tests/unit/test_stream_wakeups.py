"""What the shared event poller polls, and when: changes heard (from the database's LISTEN or
this process's writes), a new watch, a listener's reconnection, and the slow safety poll. The
poller's query is replaced by a recording fake; announcing changes runs on real SQLite."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.service.settings import Settings
from grader.service.store import leases
from grader.service.store.models import Grader, utcnow
from grader.service.store.notices import announce
from grader.service.web.streams import Row, State, Streams
from tests.unit.test_service_leases import REPORT, add, database


class FakeDb:
    """What Streams asks of a database besides its query: the URL and the change hook."""

    def __init__(self, url: str = "sqlite:///unused.db") -> None:
        self.url = url
        self.hooks: list[Callable[[set[int]], None]] = []
        self.finals: list[Callable[[set[int]], None]] = []

    def on_change(self, callback: Callable[[set[int]], None]) -> None:
        self.hooks.append(callback)

    def on_final(self, callback: Callable[[set[int]], None]) -> None:
        self.finals.append(callback)

    def changed(self, sids: set[int], final: bool = False) -> None:  # a grader's commit
        def tell() -> None:  # from the grader's own thread, as Database.changed does
            for hook in self.hooks + (self.finals if final else []):
                hook(sids)

        t = threading.Thread(target=tell)
        t.start()
        t.join()


class Recording(Streams):
    """Streams whose query is a fake: it records what each tick polled."""

    def __init__(self, db: FakeDb, **settings: Any) -> None:
        super().__init__(Settings(poll_seconds=0.01, **settings), db)  # type: ignore[arg-type]
        self.polls: list[tuple[set[int], bool]] = []
        self.rows: dict[int, list[Row]] = {}
        self.failing = 0  # the next polls that fail (the database away)

    def _poll(self, cursors: dict[int, set[tuple[int, int]]], full: bool = False
              ) -> dict[int, tuple[State, list[Row]]]:
        self.polls.append((set(cursors), full))
        if self.failing:
            self.failing -= 1
            raise OSError("database away")
        return {sid: (State(sid, "running", 1, None, None, True), self.rows.get(sid, []))
                for sid in cursors}


async def until(what: str, check: Callable[[], bool]) -> None:
    for _ in range(1000):  # bounded: 10 s of 10 ms steps at most
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def quiet(streams: Recording, ticks: int = 10) -> None:
    """Lets the poller run for `ticks` of its period (it would poll each one if it polled)."""
    await asyncio.sleep(streams.settings.poll_seconds * ticks)


async def settled(db: FakeDb, *watches: tuple[int, int]) -> Recording:
    """Streams (no safety poll within reach) with `watches` (user, submission) open, once their
    first polls are done and the poller has gone quiet."""
    streams = Recording(db, safety_poll_seconds=600)
    for user, sid in watches:
        streams.open(user, sid, (0, 0))
    await until("the first poll", lambda: len(streams.polls) >= 1)
    await quiet(streams)
    return streams


def test_a_change_polls_only_the_changed_submissions_that_are_watched() -> None:
    async def main() -> None:
        db = FakeDb()
        streams = await settled(db, (1, 1), (1, 2))
        before = len(streams.polls)
        assert before <= 2, streams.polls  # a new watch's poll, at most one more: then silence
        assert all(polled <= {1, 2} for polled, _ in streams.polls)
        db.changed({2, 99})  # 99: nobody watches it
        await until("the change's poll", lambda: len(streams.polls) > before)
        await quiet(streams)
        assert streams.polls[before:] == [({2}, False)], streams.polls
        assert streams.notices["process"] == 2
        await streams.stop()

    asyncio.run(main())


def test_a_verdict_is_polled_at_once_not_after_the_ticks_spacing() -> None:
    """Ticks are poll_seconds apart; a verdict written right after a tick does not wait out
    the spacing (one extra query per verdict), while other changes still do."""
    async def main() -> None:
        db = FakeDb()
        streams = await settled(db, (1, 1))
        streams.settings.poll_seconds = 30.0  # the spacing the verdict must not wait for
        db.changed({1})  # a test's event: polled at once (the poller was idle)...
        await until("the event's poll", lambda: len(streams.polls) == 2)
        db.changed({1})  # ...then another, which waits for the spacing: 30 s
        await asyncio.sleep(0.3)
        assert len(streams.polls) == 2, streams.polls
        db.changed({1}, final=True)  # the verdict: no waiting
        await until("the verdict's poll", lambda: len(streams.polls) == 3)
        await streams.stop()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_a_lost_notification_is_made_up_by_the_safety_poll() -> None:
    async def main() -> None:
        streams = Recording(FakeDb(), safety_poll_seconds=0.2)
        watch = streams.open(1, 7, (1, 0))  # at attempt 1 already: no update until a row
        await until("the first poll", lambda: len(streams.polls) >= 1)
        streams.rows[7] = [Row(5, 1, 0, {"name": "t0"})]  # written, its notification lost
        update = await asyncio.wait_for(watch.updates.get(), 10)
        assert update is not None and update[1] == streams.rows[7]
        assert streams.polls[-1] == ({7}, True)  # a full poll found it
        await streams.stop()

    asyncio.run(main())


def test_a_failed_poll_keeps_the_change_and_a_reconnection_polls_everything() -> None:
    async def main() -> None:
        db = FakeDb()
        streams = await settled(db, (1, 1), (2, 2))
        n = len(streams.polls)
        streams.failing = 1
        db.changed({1})
        await until("two polls", lambda: len(streams.polls) >= n + 2)
        assert streams.polls[n:n + 2] == [({1}, False), ({1}, False)]  # failed, then again
        await quiet(streams)
        n = len(streams.polls)
        threading.Thread(target=streams.reconnected).start()  # the listener's thread
        await until("the re-poll", lambda: len(streams.polls) > n)
        assert streams.polls[n] == ({1, 2}, False)
        await streams.stop()

    asyncio.run(main())


def test_without_notifications_every_tick_polls_everything_watched() -> None:
    async def main() -> None:
        streams = Recording(FakeDb(), stream_notify=False)
        streams.open(1, 1, (0, 0))
        streams.open(1, 2, (0, 0))
        await until("five polls", lambda: len(streams.polls) >= 5)
        assert all(polled == {1, 2} for polled, _ in streams.polls[1:5]), streams.polls
        await streams.stop()

    asyncio.run(main())


def test_writes_announce_their_submission_once_committed(tmp_path: Path) -> None:
    """The in-process signal: a claim, an event, a verdict; a rolled-back write says nothing."""
    db = database(tmp_path)
    heard: list[set[int]] = []
    db.on_change(heard.append)
    [sid] = add(db, "a", 1)
    with db.session() as s:
        claim = leases.claim_next(s, "g", 60, 3)
    assert claim is not None and heard == [{sid}]
    try:
        with db.session() as s:
            announce(s, sid)
            raise RuntimeError("the write failed")
    except RuntimeError:
        pass
    assert heard == [{sid}]
    with db.session() as s:
        assert leases.finish(s, claim, REPORT)
    with db.session() as s:
        assert not leases.finish(s, claim, REPORT)  # recorded nothing: announces nothing
    assert heard == [{sid}, {sid}]


def test_on_sqlite_a_grader_in_another_process_makes_the_safety_poll_fast(
        tmp_path: Path) -> None:
    """No signal crosses processes on SQLite: with another grader process alive (its heartbeat
    row) the full poll runs every poll_seconds, as the poll did before notifications."""
    db = database(tmp_path)
    streams = Streams(Settings(poll_seconds=0.1, safety_poll_seconds=3.0), db)
    streams._poll({}, full=True)
    assert (streams.elsewhere, streams.safety_s()) == (False, 3.0)
    with db.session() as s:
        s.add(Grader(id="elsewhere/1", jobs=1, state="running", heartbeat=utcnow()))
    streams._poll({}, full=True)
    assert (streams.elsewhere, streams.safety_s()) == (True, 0.1)
    db.engine.dispose()
