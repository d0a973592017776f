"""Grader processes' heartbeats in the database: who is grading, on which host, still alive."""

from __future__ import annotations

import datetime as dt
import os
import socket

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from grader.service.store.models import Grader, utcnow

FORGET_AFTER = dt.timedelta(hours=1)  # a row this stale is a process long gone


def process_id() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


def beat(session: Session, jobs: int, state: str) -> None:
    """This process's row, created or refreshed (one writer per row: no race to insert)."""
    now = utcnow()
    me = process_id()
    done = session.execute(update(Grader).where(Grader.id == me)
                           .values(heartbeat=now, jobs=jobs, state=state))
    if not done.rowcount:  # type: ignore[attr-defined]
        session.add(Grader(id=me, jobs=jobs, state=state, started=now, heartbeat=now))
    session.execute(delete(Grader).where(Grader.heartbeat < now - FORGET_AFTER))


def leave(session: Session) -> None:
    """A clean exit: gone from the count at once rather than when the heartbeat ages."""
    session.execute(delete(Grader).where(Grader.id == process_id()))


def alive(session: Session, within_s: float) -> tuple[int, int]:
    """(processes, grader slots) whose heartbeat is younger than `within_s`."""
    since = utcnow() - dt.timedelta(seconds=within_s)
    row = session.execute(select(func.count(), func.coalesce(func.sum(Grader.jobs), 0))
                          .where(Grader.heartbeat >= since)).one()
    return int(row[0]), int(row[1])


def others(session: Session, within_s: float) -> int:
    """Grader processes other than this one whose heartbeat is younger than `within_s`."""
    since = utcnow() - dt.timedelta(seconds=within_s)
    return session.scalar(select(func.count()).where(Grader.heartbeat >= since,
                                                     Grader.id != process_id())) or 0
