"""The queries that the API and the pages share, each written once: a submission stored (by
the API or the editor's form), one read with its access checked, "my submissions", the best
counting score per learner and problem, and a problem's rejudge.

A Run (`run` true: graded on the visible tests and checks only) is its learner's alone: it is
in "my submissions" and readable by id, and in nothing that counts or lists for instructors:
not in scores, the gradebook, exports, attempt counts, problem listings or rejudges."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from grader.service.errors import Invalid, NotFound
from grader.service.settings import Settings
from grader.service.store.db import Database
from grader.service.store.limits import check_limits
from grader.service.store.models import Event, Status, SubmissionRow, User
from grader.service.store.notices import announce

# What a list or a check of access never reads: a source (up to source_cap) and a report (up to
# report_cap) per row. Reading either anyway raises instead of loading it behind our back.
UNREAD = (defer(SubmissionRow.source, raiseload=True), defer(SubmissionRow.report, raiseload=True))
# A grade that counts: finished, no Run, and not one the judge gave up on (never against anyone).
COUNTING = (SubmissionRow.status == Status.DONE, SubmissionRow.counts.is_(True),
            SubmissionRow.run.is_(False))
NOT_RUN = SubmissionRow.run.is_(False)


@dataclass(frozen=True)
class Intake:
    """A submission as a client sent it, read and checked (web/intake.py)."""

    problem: str
    filename: str
    source: bytes
    run: bool = False  # a Run: visible tests and checks only, never counted

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source).hexdigest()


@dataclass(frozen=True)
class Stored:
    id: int
    status: str
    replayed: bool  # the Idempotency-Key's earlier submission, not a new one


def replay(s: Session, user: User, key: str | None, intake: Intake) -> SubmissionRow | None:
    """The submission this key already made; the same key with other content is refused."""
    if key is None:
        return None
    row = s.scalar(select(SubmissionRow).where(SubmissionRow.user_id == user.id,
                                            SubmissionRow.idempotency_key == key))
    if row is not None and (row.problem, row.sha256, row.run) != (
            intake.problem, intake.sha256, intake.run):
        raise Invalid("Idempotency-Key already used for a different submission")
    return row


def create_submission(db: Database, user: User, settings: Settings, intake: Intake,
                      key: str | None = None) -> Stored:
    """Stores a submission (within the user's limits), or finds the one its Idempotency-Key
    already made. Committed when this returns: the caller wakes the queue after."""
    with db.session() as s:
        again = replay(s, user, key, intake)
        if again is not None:
            return Stored(again.id, again.status, replayed=True)
        check_limits(s, user, settings, intake.problem, run=intake.run)
        sub = SubmissionRow(user_id=user.id, problem=intake.problem, filename=intake.filename,
                         source=intake.source, sha256=intake.sha256, idempotency_key=key,
                         run=intake.run)
        s.add(sub)
        try:
            s.flush()
        except IntegrityError:  # the same key, sent twice at once: the other request won
            s.rollback()
            again = replay(s, user, key, intake)
            if again is None:
                raise
            return Stored(again.id, again.status, replayed=True)
        return Stored(sub.id, Status.QUEUED, replayed=False)


def readable(db: Database, submission_id: int, user: User,
             full: bool = True) -> tuple[SubmissionRow, str]:
    """The submission and its author's name, if `user` may read it; else 404 (never 403: a
    learner cannot even learn that another's id exists). Without `full`, its source and report
    are not loaded."""
    with db.session() as s:
        sub = s.get(SubmissionRow, submission_id, options=() if full else UNREAD)
        if sub is None or (sub.user_id != user.id and not user.staff):
            raise NotFound("no such submission")
        author = s.get(User, sub.user_id)
        return sub, author.name if author else "?"


def mine(db: Database, user: User, problem: str | None = None,
         limit: int = 500) -> list[SubmissionRow]:
    """The user's submissions, newest first (optionally of one problem), without sources."""
    with db.session() as s:
        query = select(SubmissionRow).options(*UNREAD).where(SubmissionRow.user_id == user.id)
        if problem is not None:
            query = query.where(SubmissionRow.problem == problem)
        return list(s.scalars(query.order_by(SubmissionRow.id.desc()).limit(limit)))


def of_problem(db: Database, problem: str | None = None,
               limit: int = 5000) -> list[tuple[SubmissionRow, str]]:
    """Every submission (of one problem, or all) with its author's name, newest first; no Run."""
    with db.session() as s:
        query = select(SubmissionRow, User.name).options(*UNREAD).join(User).where(NOT_RUN)
        if problem is not None:
            query = query.where(SubmissionRow.problem == problem)
        rows = s.execute(query.order_by(SubmissionRow.id.desc()).limit(limit)).all()
        return [(sub, name) for sub, name in rows]


class Best(NamedTuple):
    user: str
    problem: str
    best_score: float | None
    submissions: int  # graded ones that count
    accepted: bool


def best_counting(db: Database, user: User | None = None) -> list[Best]:
    """Best counting score per learner (or of one) and problem; a submission the judge gave up
    on never counts against anyone."""
    with db.session() as s:
        query = (select(User.name, SubmissionRow.problem, func.max(SubmissionRow.score),
                        func.count(), func.max(SubmissionRow.verdict == "accepted"))
                 .join(User).where(*COUNTING))
        if user is not None:
            query = query.where(SubmissionRow.user_id == user.id)
        rows = s.execute(query.group_by(User.name, SubmissionRow.problem)
                         .order_by(User.name, SubmissionRow.problem))
        return [Best(u, p, b, n, bool(a)) for u, p, b, n, a in rows]


def tried(db: Database, user: User) -> dict[str, int]:
    """How many submissions the user made per problem, graded or not (Runs are none)."""
    with db.session() as s:
        return {p: n for p, n in s.execute(
            select(SubmissionRow.problem, func.count()).where(SubmissionRow.user_id == user.id,
                                                             NOT_RUN)
            .group_by(SubmissionRow.problem)).all()}


def best_reports(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    """Each learner's best counting report per problem (the latest among equal scores)."""
    with db.session() as s:
        rows = s.execute(select(User.name, SubmissionRow.problem, SubmissionRow.report)
                         .join(User).where(*COUNTING, SubmissionRow.report.is_not(None))
                         .order_by(SubmissionRow.score.asc(), SubmissionRow.id.asc())).all()
    return {(name, problem): report for name, problem, report in rows}  # the last one wins


def rejudge(db: Database, problem: str) -> int:
    """Every submission of the problem back to the queue with fresh attempts (how many); a
    grade still under way is dropped when it finishes (its claim token no longer matches).
    Runs stay as they were: nothing counts them."""
    with db.session() as s:
        ids = list(s.scalars(select(SubmissionRow.id).where(SubmissionRow.problem == problem,
                                                            NOT_RUN)))
        s.execute(delete(Event).where(Event.submission_id.in_(ids)))
        s.execute(update(SubmissionRow).where(SubmissionRow.id.in_(ids)).values(
            status=Status.QUEUED, attempts=0, claim=None, grader=None, lease_until=None,
            verdict=None, score=None, report=None, counts=True, started=None, finished=None))
        announce(s, *ids)
    return len(ids)
