"""The claim protocol: graders take submissions by lease in fair order; the first grade wins.

Every state change is one UPDATE guarded by the state it expects, so two graders, a duplicate
task or a grader whose lease lapsed can never both record a grade."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from grader.sandbox.reaping import alive
from grader.service.store.models import Status, SubmissionRow, utcnow
from grader.service.store.notices import announce


@dataclass(frozen=True)
class Claim:
    submission_id: int
    attempt: int
    token: str  # this attempt's claim: only its holder may renew or finish it
    created: dt.datetime  # when it was submitted and when this attempt began: the latencies
    started: dt.datetime


def grader_id(slot: int) -> str:
    """host/pid/slot: a grader on the same host can tell that this process has died."""
    return f"{socket.gethostname()}/{os.getpid()}/{slot}"


def _claimable(s: Any, now: dt.datetime, max_attempts: int) -> ColumnElement[bool]:
    lapsed = and_(s.status == Status.RUNNING, s.lease_until < now)
    return and_(or_(s.status == Status.QUEUED, lapsed), s.attempts < max_attempts)


def claim_next(session: Session, grader: str, lease_s: float, max_attempts: int) -> Claim | None:
    """Atomically takes the fairest claimable submission: the one whose user has the fewest
    submissions ahead of it — running now, waiting with a smaller id, or started since it was
    made — then the oldest. That is round-robin over users: one learner's backlog of 50 waits
    behind everyone else's first submission, whoever queued first."""
    now = utcnow()
    s, r = aliased(SubmissionRow), aliased(SubmissionRow)
    holding = and_(r.status == Status.RUNNING, r.lease_until >= now)
    served = and_(r.started.is_not(None), r.started >= s.created, r.id != s.id)
    ahead = (select(func.count()).where(r.user_id == s.user_id,
                                        or_(holding, served,
                                            and_(_claimable(r, now, max_attempts),
                                                 r.id < s.id)))
             .correlate(s).scalar_subquery())
    # On PostgreSQL, SKIP LOCKED lets two graders racing for the fairest row each take a
    # different one instead of the loser queueing behind the winner's lock and then finding
    # nothing; SQLite has no row locks (one writer at a time) and SQLAlchemy leaves it out.
    pick = (select(s.id).where(_claimable(s, now, max_attempts))
            .order_by(ahead, s.id).limit(1).with_for_update(skip_locked=True, of=s)
            .scalar_subquery())
    token = secrets.token_hex(16)
    row = session.execute(
        update(SubmissionRow)
        .where(SubmissionRow.id == pick, _claimable(SubmissionRow, now, max_attempts))
        .values(status=Status.RUNNING, attempts=SubmissionRow.attempts + 1, claim=token,
                grader=grader, started=now, lease_until=now + dt.timedelta(seconds=lease_s))
        .returning(SubmissionRow.id, SubmissionRow.attempts, SubmissionRow.created)).first()
    if row is None:
        return None
    announce(session, row[0])  # a new attempt: its streams say so
    return Claim(row[0], row[1], token, row[2], now)


def renew(session: Session, claim: Claim, lease_s: float) -> bool:
    """The heartbeat: False once the claim is no longer ours (finished, rejudged, taken)."""
    result = session.execute(
        update(SubmissionRow)
        .where(SubmissionRow.id == claim.submission_id, SubmissionRow.status == Status.RUNNING,
               SubmissionRow.claim == claim.token)
        .values(lease_until=utcnow() + dt.timedelta(seconds=lease_s)))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, claim: Claim) -> None:
    """Gives a claim back at once (the grader failed): the next claim retries it."""
    session.execute(
        update(SubmissionRow)
        .where(SubmissionRow.id == claim.submission_id, SubmissionRow.status == Status.RUNNING,
               SubmissionRow.claim == claim.token)
        .values(lease_until=utcnow() - dt.timedelta(seconds=1)))


def finish(session: Session, claim: Claim, report: dict[str, Any]) -> bool:
    """Records a grade unless another attempt's grade or a rejudge came first."""
    verdict = report["verdict"]
    now = utcnow()
    result = session.execute(
        update(SubmissionRow)
        .where(SubmissionRow.id == claim.submission_id, SubmissionRow.status == Status.RUNNING,
               SubmissionRow.claim == claim.token)
        .values(status=Status.DONE, verdict=verdict, score=report["score"], report=report,
                finished=now, lease_until=None, counts=verdict != "judge_error",
                latency_s=(now - claim.created).total_seconds(),
                grade_s=(now - claim.started).total_seconds()))
    if result.rowcount:  # type: ignore[attr-defined]
        announce(session, claim.submission_id, final=True)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def exhausted(session: Session, max_attempts: int) -> list[SubmissionRow]:
    """Running submissions whose last allowed attempt's lease lapsed."""
    return list(session.scalars(select(SubmissionRow).where(
        SubmissionRow.status == Status.RUNNING, SubmissionRow.lease_until < utcnow(),
        SubmissionRow.attempts >= max_attempts)))


def give_up(session: Session, sub: SubmissionRow, report: dict[str, Any]) -> bool:
    result = session.execute(
        update(SubmissionRow)
        .where(SubmissionRow.id == sub.id, SubmissionRow.status == Status.RUNNING,
               SubmissionRow.attempts == sub.attempts, SubmissionRow.lease_until < utcnow())
        .values(status=Status.DONE, verdict=report["verdict"], score=0.0, report=report,
                finished=utcnow(), lease_until=None, counts=False))
    if result.rowcount:  # type: ignore[attr-defined]
        announce(session, sub.id, final=True)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def expire_dead_graders(session: Session) -> int:
    """Leases held by graders on this host whose process is gone lapse now, not in a minute.
    A pid that was reused keeps its lease: the lease itself is the guarantee, this only speeds
    recovery after a crash."""
    host = socket.gethostname()
    rows = session.execute(select(SubmissionRow.id, SubmissionRow.grader).where(
        SubmissionRow.status == Status.RUNNING, SubmissionRow.lease_until >= utcnow(),
        SubmissionRow.grader.like(f"{host}/%"))).all()
    dead = [i for i, g in rows if not alive(int(str(g).split("/")[1]))]
    if dead:
        session.execute(update(SubmissionRow).where(SubmissionRow.id.in_(dead),
                                                 SubmissionRow.status == Status.RUNNING)
                        .values(lease_until=utcnow() - dt.timedelta(seconds=1)))
    return len(dead)


def claimable_count(session: Session, max_attempts: int) -> int:
    s = aliased(SubmissionRow)
    return session.scalar(select(func.count()).where(
        _claimable(s, utcnow(), max_attempts))) or 0
