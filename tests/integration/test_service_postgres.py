"""The schema and the claim on a real PostgreSQL: migrations both ways, SKIP LOCKED claims."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text

from grader.service.store import leases
from grader.service.store.db import Database
from grader.service.store.migrate import config
from grader.service.store.models import Base, Status, SubmissionRow, User
from grader.service.store.users import create_user
from tests.integration.servers import Postgres
from tests.integration.service import Server, submit, wait_for
from tests.specs import hidden_tests_problem


def test_the_migrations_run_on_postgresql_up_down_and_up_again(postgres: Postgres) -> None:
    db = Database(postgres.new_database())
    db.migrate()
    db.migrate()  # a second start-up is a no-op
    head = ScriptDirectory.from_config(config(db.engine)).get_current_head()
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
    with db.engine.connect() as conn:  # the migrations build exactly what the models say
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    tables = set(inspect(db.engine).get_table_names())
    assert {"users", "api_tokens", "submissions", "events", "graders",
            "login_failures"} <= tables
    command.downgrade(config(db.engine), "base")
    assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
    db.migrate()
    assert "graders" in inspect(db.engine).get_table_names()
    db.engine.dispose()


def test_graders_racing_for_rows_each_get_one_without_waiting(postgres: Postgres) -> None:
    """Two open transactions claim at once: with SKIP LOCKED the second takes the next row at
    once; without it, it would wait for the first's lock (here: fail on the timeout) and then
    find its row taken."""
    db = Database(postgres.new_database())
    db.migrate()
    with db.session() as s:
        users = [User(name=f"u{i}") for i in range(3)]
        s.add_all(users)
        s.flush()
        s.add_all([SubmissionRow(user_id=u.id, problem="p", filename="f.py", source=b"x",
                              sha256="0" * 64) for u in users])
    sessions = [db.factory() for _ in range(4)]
    try:
        claims = []
        for s in sessions:
            s.execute(text("SET LOCAL lock_timeout = '2s'"))
            claims.append(leases.claim_next(s, "g", 60, 3))
        assert sorted(c.submission_id for c in claims[:3] if c) == [1, 2, 3]
        assert claims[3] is None  # nothing left that is not held
        for s in sessions:
            s.commit()
    finally:
        for s in sessions:
            s.close()
        db.engine.dispose()


def test_values_postgresql_cannot_hold_are_refused_not_a_500(postgres: Postgres,
                                                              tmp_path: Path) -> None:
    """SQLite takes a NUL in a string and a 64-bit integer; PostgreSQL's text and integer
    columns do not, and a query with one was a DataError, a 500 (or a broken event stream)."""
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    url = postgres.new_database()
    db = Database(url)
    db.migrate()
    token = create_user(db, "alice", "learner", "alice-pw")[1]
    server = Server(tmp_path, root, jobs=0, database=url, secret_key="s" * 48)
    try:
        with server.client(token) as alice:
            sid = submit(alice, "x = 1\n")
            with db.session() as s:  # graded, so that its stream ends
                row = s.get(SubmissionRow, sid)
                assert row is not None
                row.status, row.attempts, row.verdict, row.score = Status.DONE, 1, "accepted", 1.0
            got = {path: alice.get(path).status_code
                   for path in (f"/api/v1/submissions/{2**31}",
                                f"/api/v1/submissions/{2**31}/events",
                                "/api/v1/submissions?problem=a%00b")}
            with alice.stream("GET", f"/api/v1/submissions/{sid}/events",
                              headers={"Last-Event-ID": f"1.{2**31}"},
                              timeout=httpx.Timeout(10, read=30)) as r:
                stream = "".join(r.iter_text())
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            csrf = browser.get("/api/v1/me").json()["csrf_token"]
            login = browser.post("/login", data={"name": "ali\x00ce", "password": "x",
                                                 "csrf_token": csrf})
    finally:
        server.stop()
        db.engine.dispose()
    assert all(400 <= code < 500 for code in got.values()), got
    assert "event: done" in stream, stream
    assert 400 <= login.status_code < 500, login.text


def test_two_web_servers_let_no_concurrent_submit_past_the_daily_cap(
        postgres: Postgres, tmp_path: Path) -> None:
    """Each server counts, then inserts. Two submits reach two servers at once, one short of
    the cap: while this test holds the learner's row, both must wait before counting (else
    both count 2 of 3, and both insert)."""
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    url = postgres.new_database()
    db = Database(url)
    db.migrate()
    user, token, _ = create_user(db, "alice", "learner", "alice-pw")
    with db.session() as s:
        s.add_all([SubmissionRow(user_id=user.id, problem="reinforce_grad", filename="f.py",
                              source=b"x", sha256="0" * 64) for _ in range(2)])
    for n in range(2):
        (tmp_path / f"web{n}").mkdir()
    servers = [Server(tmp_path / f"web{n}", root, jobs=0, database=url, secret_key="s" * 48,
                      daily_submissions_per_problem=3) for n in range(2)]

    def one(n: int) -> int:
        with servers[n].client(token) as alice:
            return alice.post("/api/v1/submissions", json={
                "problem": "reinforce_grad", "source": f"x = {n}\n"}).status_code

    def waiting() -> bool:
        with db.engine.connect() as conn:
            return bool(conn.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                         "WHERE wait_event_type = 'Lock'")) == 2)

    try:
        holder = db.factory()
        holder.execute(select(User).where(User.name == "alice").with_for_update())
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(one, n) for n in range(2)]
            wait_for("both submits to reach the database", waiting, timeout=30)
            holder.commit()
            codes = sorted(f.result() for f in futures)
        holder.close()
    finally:
        for server in servers:
            server.stop()
    with db.session() as s:
        rows = s.scalar(select(func.count()).select_from(SubmissionRow))
    db.engine.dispose()
    assert (codes, rows) == ([201, 429], 3)
