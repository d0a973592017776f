"""Event streams are bounded: per user, per process, and one database query per tick for all of
them (a shared poller), on a real uvicorn. The submissions here are never graded (no graders):
their streams stay open until the client leaves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from grader.cli.client import sse
from grader.service.store.db import Database
from grader.service.store.models import Event, Grader, Status, SubmissionRow, utcnow
from grader.service.store.notices import CHANNEL, announce
from grader.service.store.users import create_user as create_account
from tests.integration.servers import Postgres
from tests.integration.service import Server, create_user, submit, wait_for
from tests.specs import hidden_tests_problem

POLL_S = 0.2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("streams")
    root = data / "problems"
    hidden_tests_problem(root)
    # 60 streams for one user here: the per-user cap has its own server below.
    srv = Server(data, root, jobs=0, secret_key="s" * 48, poll_seconds=POLL_S,
                 streams_per_user=60, streams_total=100)
    try:
        yield srv
    finally:
        srv.stop()


def _open(stack: ExitStack, http: httpx.Client, sid: int) -> httpx.Response:
    """A stream held open (headers read, body not) until `stack` closes."""
    return stack.enter_context(http.stream("GET", f"/api/v1/submissions/{sid}/events",
                                           timeout=httpx.Timeout(10, read=30)))


def _metric(server: Server, name: str) -> float:
    body = httpx.get(server.url + "/metrics", timeout=30).text
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


def _statements_while(server: Server, seconds: float) -> tuple[float, float]:
    """(SQL statements the server sent, seconds elapsed) across two scrapes `seconds` apart."""
    start = time.monotonic()
    before = _metric(server, "jaxjudge_db_statements_total")
    time.sleep(seconds)
    after = _metric(server, "jaxjudge_db_statements_total")
    return after - before, time.monotonic() - start


def test_fifty_watchers_cost_what_one_does(server: Server) -> None:
    """Each stream used to query the database every tick on its own (two statements): 50 of
    them cost 50x one. Now one poller queries for every watched submission at once. A tick
    is at least POLL_S apart, so a window of W seconds holds at most W / POLL_S + 1 ticks,
    however slow the machine: the bound asserts no duration."""
    token = create_user(server.data, server.root, "watcher")
    with server.client(token) as http, ExitStack() as stack:
        sids = [submit(http, "x = 1\n") for _ in range(5)]
        scrape, _ = _statements_while(server, 0)  # a scrape's own statements, nothing open
        assert _open(stack, http, sids[0]).status_code == 200
        one, w1 = _statements_while(server, 2.0)
        for i in range(49):
            assert _open(stack, http, sids[i % 5]).status_code == 200
        fifty, w50 = _statements_while(server, 2.0)
    for got, window in ((one, w1), (fifty, w50)):
        ticks = window / POLL_S + 2
        assert got - scrape <= ticks, (f"{got:g} statements in {window:.1f} s (a scrape is "
                                       f"{scrape:g}; one per tick is at most {ticks:.0f}); "
                                       f"1 stream: {one:g}, 50 streams: {fifty:g}")


def test_streams_are_capped_per_user_and_per_process_and_a_closed_one_frees_its_slot(
        tmp_path: Path) -> None:
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    srv = Server(tmp_path, root, jobs=0, secret_key="s" * 48, streams_per_user=2,
                 streams_total=3)
    try:
        alice = srv.client(create_user(tmp_path, root, "alice"))
        bob = srv.client(create_user(tmp_path, root, "bob"))
        mine, bobs = submit(alice, "x = 1\n"), submit(bob, "x = 1\n")
        with ExitStack() as stack:
            assert [_open(stack, alice, mine).status_code for _ in range(2)] == [200, 200]
            extra = _open(stack, alice, mine)  # headers only: an open stream never ends
            assert extra.status_code == 429, extra.status_code
            assert int(extra.headers["retry-after"]) > 0
            assert _open(stack, bob, bobs).status_code == 200  # another user: the third
            full = _open(stack, bob, bobs)
            assert full.status_code == 503, full.status_code  # the process's, not bob's
            assert int(full.headers["retry-after"]) > 0
        # Every client left: each slot is free again as soon as the server sees the close.
        wait_for("the closed streams to free their slots",
                 lambda: _metric(srv, "jaxjudge_event_streams_open") == 0, timeout=10)
        with ExitStack() as stack:
            assert [_open(stack, alice, mine).status_code for _ in range(2)] == [200, 200]
            assert _open(stack, bob, bobs).status_code == 200
        alice.close()
        bob.close()
    finally:
        srv.stop()


def _frames(r: httpx.Response) -> Iterator[tuple[str, str, Any]]:
    """(event, id, data) of an open stream, as they arrive."""
    seen: list[str] = []  # the CLI's parser appends each event's id, if it has one
    for name, data in sse(r, seen):
        yield name, seen.pop() if seen else "", data


def _grade(db: Database, sid: int, attempt: int, seqs: range, done: bool = False) -> list[int]:
    """What a grader writes: an attempt's tests (their row ids), then maybe the verdict."""
    with db.session() as s:
        sub = s.get(SubmissionRow, sid)
        assert sub is not None
        sub.status, sub.attempts = Status.DONE if done else Status.RUNNING, attempt
        if done:
            sub.verdict, sub.score = "accepted", 1.0
        rows = [Event(submission_id=sid, attempt=attempt, seq=i,
                      test={"name": f"t{i}", "visible": True, "verdict": "accepted",
                            "points": 1}) for i in seqs]
        s.add_all(rows)
        s.flush()
        announce(s, sid)  # as graders do: NOTIFY on PostgreSQL (the server is another process)
        return [row.id for row in rows]


def _replays(server: Server, db: Database, token: str) -> None:
    """Writes what a grader does while two streams watch, one of them a reconnect."""
    with server.client(token) as http, ExitStack() as stack:
        sid = submit(http, "x = 1\n")
        first, _ = _grade(db, sid, 1, range(2))
        fresh = _frames(_open(stack, http, sid))
        again = _frames(stack.enter_context(http.stream(
            "GET", f"/api/v1/submissions/{sid}/events",
            headers={"Last-Event-ID": f"1.{first}"}, timeout=httpx.Timeout(10, read=30))))
        assert [(e, d["index"]) for e, _, d in (next(fresh), next(fresh))] == [
            ("test", 0), ("test", 1)]
        assert [(e, d["index"]) for e, _, d in (next(again),)] == [("test", 1)]
        _grade(db, sid, 2, range(1), done=True)  # the grader died; attempt 2 finished
        for stream in (fresh, again):
            got = [(e, d.get("index", d.get("attempt"))) for e, _, d in stream]
            assert got == [("attempt", 2), ("test", 0), ("done", None)], got


def test_watchers_of_one_submission_each_get_what_they_have_not_seen(server: Server) -> None:
    """One poll serves watchers at different places: a new stream replays the attempt, a
    reconnect (Last-Event-ID) only what follows, a new attempt restarts both, `done` ends.
    On SQLite no notification crosses processes: a grader process alive elsewhere (its
    heartbeat row) makes the server poll every tick, as it did before notifications."""
    db = Database(f"sqlite:///{(server.data / 'jaxjudge.db').resolve()}")  # the server's
    try:
        with db.session() as s:  # this test writes as a grader in another process would
            s.add(Grader(id="elsewhere/1", jobs=1, heartbeat=utcnow()))
        _replays(server, db, create_user(server.data, server.root, "replayer"))
    finally:
        db.engine.dispose()


def _listeners(postgres: Postgres, url: str) -> list[int]:
    """Backend pids of the connections LISTENing on the streams' channel in that database."""
    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres dbname={dbname}",
                         autocommit=True) as conn:
        return [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND query = %s",
            (dbname, f"LISTEN {CHANNEL}"))]


def test_on_postgresql_streams_wake_on_notify_and_outlive_their_listener(
        postgres: Postgres, tmp_path: Path) -> None:
    """The shared poll replays the same on PostgreSQL, woken by NOTIFY. Between events it sends
    nothing (the old poll sent one query per tick); each event costs a query or two. The
    listener's connection killed, the verdict still arrives (its reconnection re-polls what
    is watched; the safety poll is set out of reach here). One server for all: each costs
    seconds."""
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    url = postgres.new_database()
    db = Database(url)
    db.migrate()
    token = create_account(db, "listener", "learner", "listener-pw")[1]
    srv = Server(tmp_path, root, jobs=0, database=url, secret_key="s" * 48,
                 poll_seconds=POLL_S, safety_poll_seconds=600, stream_seconds=60)
    try:
        _replays(srv, db, token)
        with srv.client(token) as http, ExitStack() as stack:
            sid = submit(http, "x = 1\n")
            frames = _frames(_open(stack, http, sid))
            listener = wait_for("one listener", lambda: _listeners(postgres, url), timeout=30)
            assert len(listener) == 1, listener

            def settled() -> bool:  # the stream's first poll, and the listener's on connecting
                first = _metric(srv, "jaxjudge_event_poll_queries_total")
                time.sleep(3 * POLL_S)
                return _metric(srv, "jaxjudge_event_poll_queries_total") == first

            wait_for("the poller to settle", settled, timeout=30)
            got, costs = [], []
            for seq in range(3):
                before = _metric(srv, "jaxjudge_event_poll_queries_total")
                time.sleep(0.6)  # quiet: 3 ticks of the old poll
                quiet = _metric(srv, "jaxjudge_event_poll_queries_total") - before
                assert quiet == 0, f"{quiet:g} poll queries with nothing written"
                _grade(db, sid, 1, range(seq, seq + 1))
                event, _, data = next(frames)
                got.append((event, data["index"]))
                costs.append(_metric(srv, "jaxjudge_event_poll_queries_total") - before)
            assert got == [("test", 0), ("test", 1), ("test", 2)], got
            assert all(c <= 2 for c in costs), costs  # a write heard mid-query: one more
            assert _metric_labelled(srv, "jaxjudge_event_notifications_total",
                                    'source="database"') >= 3
            with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres",
                                 autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (listener[0],))
            _grade(db, sid, 1, range(3, 4), done=True)  # NOTIFY with nobody listening
            rest = [(e, d.get("index")) for e, _, d in frames]
            assert rest == [("test", 3), ("done", None)], rest
            again = wait_for("a new listener", lambda: _listeners(postgres, url), timeout=30)
            assert again != listener
    finally:
        srv.stop()
        db.engine.dispose()


def _metric_labelled(server: Server, name: str, label: str) -> float:
    body = httpx.get(server.url + "/metrics", timeout=30).text
    for line in body.splitlines():
        if line.startswith(f"{name}{{{label}}} "):
            return float(line.split()[1])
    raise AssertionError(f"{name}{{{label}}} missing from /metrics")


def test_a_stream_of_a_submission_never_graded_ends_at_its_lifetime(tmp_path: Path) -> None:
    """Streams used to live an hour; now `stream_seconds`, then the client reconnects (with
    Last-Event-ID) and the slot is free meanwhile."""
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    srv = Server(tmp_path, root, jobs=0, secret_key="s" * 48, stream_seconds=2)
    try:
        with srv.client(create_user(tmp_path, root, "alice")) as alice:
            sid = submit(alice, "x = 1\n")
            with alice.stream("GET", f"/api/v1/submissions/{sid}/events",
                              timeout=httpx.Timeout(10, read=60)) as r:
                assert r.status_code == 200
                deadline, body = time.monotonic() + 30, ""
                for chunk in r.iter_text():  # keep-alives every 15 s: no read timeout fires
                    body += chunk
                    if time.monotonic() > deadline:
                        pytest.fail(f"the stream is still open after 30 s: {body!r}")
            assert "event: done" not in body, body  # it ended: the server closed it
            wait_for("the slot to be free", lambda: _metric(srv, "jaxjudge_event_streams_open")
                     == 0, timeout=10)
    finally:
        srv.stop()
