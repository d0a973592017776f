"""SQLAlchemy models: the database is the authority on users, submissions and their grades."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The largest id a client may name: an INTEGER column is 32-bit on PostgreSQL (64 on SQLite),
# and a larger id must be a 422, not an overflow in the database.
MAX_ID = 2**31 - 1


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)  # stored naive, always UTC


class Base(DeclarativeBase):
    pass


class Role(enum.StrEnum):
    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"


class Status(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.LEARNER)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def staff(self) -> bool:
        """Instructors and admins read every submission with its full report."""
        return self.role in (Role.INSTRUCTOR, Role.ADMIN)


class LoginFailure(Base):
    """One failed sign-in, so that every web server throttles guessing at the same name."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_name_at", "name", "at"),
                      Index("ix_login_failures_client_at", "client", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))  # as typed: unknown names count the same
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # never the token itself
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    label: Mapped[str] = mapped_column(String(64), default="", server_default="")


class UserSession(Base):
    """One signed-in browser session: the signed cookie names it, the row decides whether it
    still holds, so that signing out (here, everywhere, by an admin) ends it on every server."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # of the cookie's session id
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)


class SubmissionRow(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),
                      Index("ix_submissions_status_id", "status", "id"),
                      Index("ix_submissions_problem_user", "problem", "user_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    problem: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    source: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED)
    verdict: Mapped[str | None] = mapped_column(String(32), default=None)
    score: Mapped[float | None] = mapped_column(Float, default=None)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # full, unredacted
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    grader: Mapped[str | None] = mapped_column(String(128), default=None)
    claim: Mapped[str | None] = mapped_column(String(32), default=None)  # this attempt's token
    counts: Mapped[bool] = mapped_column(Boolean, default=True)  # false: the judge gave up
    # A Run: graded on the visible tests and checks only, shown to its learner, never counted.
    run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    idempotency_key: Mapped[str | None] = mapped_column(String(128), default=None)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    # Seconds from submission to verdict, and of the attempt that recorded it (for /metrics).
    latency_s: Mapped[float | None] = mapped_column(Float, default=None)
    grade_s: Mapped[float | None] = mapped_column(Float, default=None)


class Grader(Base):
    """A grader process's heartbeat, so that /metrics can count graders alive on any host."""

    __tablename__ = "graders"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # host/pid
    jobs: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="running")  # or "stopping"
    started: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Event(Base):
    """One judged test of one attempt: event streams read these, from any process."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("submission_id", "attempt", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)  # the unit's index in report order
    test: Mapped[dict[str, Any]] = mapped_column(JSON)  # full; redacted on read
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class HintTaken(Base):
    """One hint a learner asked for ("Show a hint"), for their instructors: the database, not a
    browser's cookie, says how many hints of a problem they took. One row per hint at most."""

    __tablename__ = "hints_taken"
    __table_args__ = (UniqueConstraint("user_id", "problem", "number"),
                      Index("ix_hints_taken_problem", "problem"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    problem: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)  # which of the statement's hints, from 1
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
