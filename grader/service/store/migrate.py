"""Alembic, driven from code: the migrations ship inside the package and run at start-up.

Every `serve`, `worker` and `admin` migrates at start-up, and several may start at once on a
new database: each would read "no version" and create the tables, and all but one die on
"already exists". So an upgrade holds a lock that only one process at a time can take: a
PostgreSQL advisory lock on the database, or an exclusive file lock beside a SQLite file. The
second process waits, then finds the schema at head and has nothing to do.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_lock's key: any constant of our own ("jaxjudge" in ASCII, truncated to 63 bits).
ADVISORY_KEY = 0x6A61786A75646765


def config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False)
                        .replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Held by one process at a time per database; released when the holder ends, even by
    SIGKILL (the server ends a dead session's advisory locks; the kernel, a dead process's
    file locks)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                conn.commit()
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield  # one process's private database, or a server that serialises DDL itself
        return
    with open(f"{database}.migrate-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> None:
    """Brings the schema to the newest revision; a no-op when it is there already."""
    with migration_lock(engine):
        command.upgrade(config(engine), "head")


def head() -> str:
    """The newest revision this judge's code knows."""
    rev = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert rev is not None
    return rev


def current(engine: Engine) -> str | None:
    """The database's revision: None for a database never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
