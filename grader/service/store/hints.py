"""Hints a learner asked for ("Show a hint"), recorded for their instructors.

The database, not a browser's cookie, is the authority: a learner sees the hints they took in
any browser, and clearing cookies gives no fresh start. A request names the hint it asks for,
so that a double click or a replayed form records it once: one row per (user, problem, hint)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from grader.service.store.db import Database
from grader.service.store.models import HintTaken, User


def taken(db: Database, user: User, problem: str) -> list[int]:
    """Which of the problem's hints the user asked for (1-based), in order."""
    with db.session() as s:
        return list(s.scalars(select(HintTaken.number).where(
            HintTaken.user_id == user.id, HintTaken.problem == problem)
            .order_by(HintTaken.number)))


def take(db: Database, user: User, problem: str, number: int) -> bool:
    """Records that the user asked for hint `number` of the problem; False when it was
    recorded already (a double click, a replayed form, two requests at once)."""
    try:
        with db.session() as s:
            if s.scalar(select(HintTaken.id).where(
                    HintTaken.user_id == user.id, HintTaken.problem == problem,
                    HintTaken.number == number)) is not None:
                return False
            s.add(HintTaken(user_id=user.id, problem=problem, number=number))
            s.flush()
    except IntegrityError:  # the same hint, asked for twice at once: the other request won
        return False
    return True


class Taken(NamedTuple):
    """One learner's hints of one problem, asked for."""

    user: str
    problem: str
    hints: list[int]  # which ones (1-based), in order
    last: dt.datetime  # when the last was asked for (naive, UTC)


def of_problem(db: Database, problem: str | None = None) -> list[Taken]:
    """Per learner and problem (of one problem, or all): the hints asked for, by name then
    problem."""
    with db.session() as s:
        query = select(User.name, HintTaken.problem, HintTaken.number, HintTaken.at).join(User)
        if problem is not None:
            query = query.where(HintTaken.problem == problem)
        rows = s.execute(query.order_by(User.name, HintTaken.problem, HintTaken.number)).all()
    grouped: dict[tuple[str, str], list[tuple[int, dt.datetime]]] = defaultdict(list)
    for name, prob, number, at in rows:
        grouped[(name, prob)].append((number, at))
    return [Taken(name, prob, [n for n, _ in got], max(at for _, at in got))
            for (name, prob), got in grouped.items()]


def counts(db: Database) -> dict[tuple[str, str], int]:
    """How many hints each learner asked for per problem, keyed by (name, problem)."""
    with db.session() as s:
        rows = s.execute(select(User.name, HintTaken.problem, func.count()).join(User)
                         .group_by(User.name, HintTaken.problem)).all()
    return {(name, prob): n for name, prob, n in rows}
