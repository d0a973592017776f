"""The claim protocol on a real SQLite database: leases lapse, the first grade wins, fair order."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from grader.service.grading.graders import LiveEvents
from grader.service.settings import Settings
from grader.service.store import leases
from grader.service.store.db import Database
from grader.service.store.models import Event, SubmissionRow, User
from grader.service.store.users import create_user
from grader.service.web.app import create_app

REPORT = {"verdict": "accepted", "score": 1.0, "tests": []}


def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'j.db'}")
    db.migrate()
    return db


def add(db: Database, user: str, n: int) -> list[int]:
    with db.session() as s:
        u = s.query(User).filter_by(name=user).one_or_none() or User(name=user)
        s.add(u)
        s.flush()
        subs = [SubmissionRow(user_id=u.id, problem="p", filename="f.py", source=b"x",
                           sha256="0" * 64) for _ in range(n)]
        s.add_all(subs)
        s.flush()
        return [x.id for x in subs]


def test_a_lapsed_lease_is_taken_over_and_only_the_current_claim_records(tmp_path: Path) -> None:
    db = database(tmp_path)
    [sid] = add(db, "a", 1)
    with db.session() as s:
        first = leases.claim_next(s, "g1", 0.3, 3)
    with db.session() as s:
        assert leases.claim_next(s, "g2", 0.3, 3) is None  # held
    time.sleep(0.4)
    with db.session() as s:
        second = leases.claim_next(s, "g2", 0.3, 3)
    assert first and second and (second.submission_id, second.attempt) == (sid, 2)
    with db.session() as s:
        assert not leases.renew(s, first, 60)  # the dead grader's heartbeat changes nothing
        assert not leases.finish(s, first, REPORT)
        assert leases.finish(s, second, REPORT)
        assert not leases.finish(s, second, REPORT)  # a duplicate delivery changes nothing
        row = s.get(SubmissionRow, sid)
        assert row is not None and (row.status, row.attempts) == ("done", 2)


def test_after_the_last_attempt_nothing_claims_it_and_the_sweeper_finds_it(
        tmp_path: Path) -> None:
    db = database(tmp_path)
    add(db, "a", 1)
    for _ in range(3):
        with db.session() as s:
            claim = leases.claim_next(s, "g", 60, 3)
            assert claim is not None
            leases.release(s, claim)
    with db.session() as s:
        assert leases.claim_next(s, "g", 60, 3) is None
        [gone] = leases.exhausted(s, 3)
        assert leases.give_up(s, gone, {"verdict": "judge_error"})
        assert (gone.status, gone.counts) == ("done", False)


def test_claims_go_round_robin_over_users(tmp_path: Path) -> None:
    db = database(tmp_path)
    a = add(db, "a", 4)
    b = add(db, "b", 2)
    order = []
    for _ in range(6):
        with db.session() as s:
            claim = leases.claim_next(s, "g", 60, 3)
            assert claim is not None
            leases.finish(s, claim, REPORT)
            order.append(claim.submission_id)
    assert order == [a[0], b[0], a[1], b[1], a[2], a[3]]


def test_the_queued_cap_answers_429(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path, jobs=0, queued_cap=2)
    app = create_app(settings)
    db = app.state.db
    _, token, _ = create_user(db, "a", "learner")
    with TestClient(app) as http:
        body = {"problem": "reinforce_grad", "source": "x = 1\n"}
        head = {"Authorization": f"Bearer {token}"}
        codes = [http.post("/api/v1/submissions", json=body, headers=head).status_code
                 for _ in range(3)]
        last = http.post("/api/v1/submissions", json=body, headers=head)
    assert codes == [201, 201, 429]
    assert "waiting" in last.json()["error"] and int(last.headers["Retry-After"]) >= 1


def test_a_live_event_never_waits_for_the_database(tmp_path: Path) -> None:
    """The judge hears each test's result on the submission's clock: handing over a live event
    must not wait while the database is out (a write that did once turned an accepted grade
    into a time limit)."""
    db = database(tmp_path)
    [sid] = add(db, "a", 1)
    with db.session() as s:
        claim = leases.claim_next(s, "g", 60, 3)
    assert claim is not None and claim.submission_id == sid
    out = threading.Event()  # the database is out until this is set
    session = db.session

    @contextlib.contextmanager
    def slow_session() -> Iterator[Any]:
        out.wait(60)
        with session() as s:
            yield s

    db.session = slow_session  # type: ignore[method-assign]
    events = LiveEvents(db, claim)
    for u in range(3):
        events.put(u, {"name": f"t{u}", "verdict": "accepted"})
    with session() as s:  # every put returned while the writer still waited
        assert s.query(Event).count() == 0
    out.set()
    events.close()
    db.session = session  # type: ignore[method-assign]
    with db.session() as s:
        assert [e.seq for e in s.query(Event).order_by(Event.seq)] == [0, 1, 2]
