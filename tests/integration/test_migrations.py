"""Migrations that cannot race: web servers and graders started together on a new database.

Every `jaxjudge serve`, `worker` and `admin` brings the schema to head at start-up, and the
docs invite several web servers on one database. Without a lock, two processes starting at
once both read "no version" and both create the tables: one dies on "already exists".
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from grader.cli import main
from grader.service.store.db import Database
from grader.service.store.migrate import config
from tests.integration.servers import Postgres

RACERS = 4
# Each racer sleeps until the same instant, then migrates: they meet on an empty schema.
RACE = """
import sys, time
from grader.service.store.db import Database
db = Database(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
db.migrate()
"""


def race(url: str) -> list[subprocess.CompletedProcess[str]]:
    # Importing SQLAlchemy and alembic takes a while: give every racer time to be at the line.
    start = time.time() + 4.0
    procs = [subprocess.Popen([sys.executable, "-c", RACE, url, str(start)], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(RACERS)]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def at_head(url: str) -> None:
    db = Database(url)
    head = ScriptDirectory.from_config(config(db.engine)).get_current_head()
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
        assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    db.engine.dispose()


def test_servers_starting_together_on_a_new_postgresql_database_all_start(
        postgres: Postgres) -> None:
    url = postgres.new_database()
    results = race(url)
    assert [r.returncode for r in results] == [0] * RACERS, [r.stderr[-800:] for r in results]
    at_head(url)


def test_servers_starting_together_on_a_new_sqlite_database_all_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'judge.db'}"
    results = race(url)
    assert [r.returncode for r in results] == [0] * RACERS, [r.stderr[-800:] for r in results]
    at_head(url)


def test_jaxjudge_migrate_brings_a_database_to_head_and_check_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Operators who roll out several servers migrate once, first; --check changes nothing."""
    data = str(tmp_path / "data")
    assert main(["migrate", "--check", "--data", data]) == 1
    assert "no revision" in capsys.readouterr().out
    assert main(["migrate", "--data", data]) == 0
    assert "-> " in capsys.readouterr().out
    assert main(["migrate", "--data", data]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["migrate", "--check", "--data", data]) == 0
    at_head(f"sqlite:///{tmp_path / 'data' / 'jaxjudge.db'}")


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_hints_table_upgrades_downgrades_and_upgrades_again(
        engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """0006 on a database at 0005 with a learner in it: the hints table comes and goes, the
    learner stays, and once back it still records a hint once per (user, problem, hint)."""
    url = (request.getfixturevalue("postgres").new_database() if engine == "postgresql"
           else f"sqlite:///{tmp_path / 'judge.db'}")
    db = Database(url)
    cfg = config(db.engine)
    command.upgrade(cfg, "0005")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, name, role, created) "
                          "VALUES (1, 'lea', 'learner', CURRENT_TIMESTAMP)"))
    for _ in range(2):
        command.upgrade(cfg, "0006")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO hints_taken (user_id, problem, number, at) "
                              "VALUES (1, 'p', 1, CURRENT_TIMESTAMP)"))
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("INSERT INTO hints_taken (user_id, problem, number, at) "
                              "VALUES (1, 'p', 1, CURRENT_TIMESTAMP)"))
        command.downgrade(cfg, "0005")
        assert "hints_taken" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT name FROM users")) == "lea"
    db.migrate()
    at_head(url)
    db.engine.dispose()
