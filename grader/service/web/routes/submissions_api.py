"""Submissions: submit, list mine, read one (redacted for learners), follow its grading."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from grader.model.report import redact
from grader.service.errors import NotFound
from grader.service.store.models import Status, Submission, User
from grader.service.web.intake import check_limits, idempotency_key, read_intake, replay
from grader.service.web.responses import errors
from grader.service.web.routes.problems_api import PROBLEM_ID
from grader.service.web.schemas import Created, SubmissionDetail, SubmissionSummary
from grader.service.web.security import current_user

router = APIRouter(prefix="/api/v1/submissions", tags=["submissions"])

# Bounded: an INTEGER column is 32-bit on PostgreSQL (64 on SQLite), and a larger id must be
# a 422, not an overflow in the database.
MAX_ID = 2**31 - 1
SubmissionId = Annotated[int, Path(ge=1, le=MAX_ID)]

# The body `submit` reads itself (intake.read_intake: bounded, either format), as documented.
_PROBLEM = {"type": "string", "pattern": PROBLEM_ID.pattern, "description": "the problem's id"}
_SOURCE = {"type": "string", "description": "the solution's Python source: UTF-8 text, at most "
                                            "the service's source cap (64 KiB by default)"}
SUBMISSION_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {
        "schema": {"type": "object", "required": ["problem", "source"],
                   "properties": {"problem": _PROBLEM, "source": _SOURCE}},
        "example": {"problem": "reinforce_grad", "source": "def reinforce_grad(): ...\n"}},
    "multipart/form-data": {
        "schema": {"type": "object", "required": ["problem", "file"],
                   "properties": {"problem": _PROBLEM,
                                  "file": {**_SOURCE, "description": "the .py file to grade"}}},
        "encoding": {"file": {"contentType": "text/x-python"}}},
}}}


def utc(t: dt.datetime) -> dt.datetime:
    """A stored time (naive, always UTC) with its zone: RFC 3339, as the schema promises."""
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


# What a list or a check of access never reads: a source (up to source_cap) and a report (up to
# report_cap) per row. Reading either anyway raises instead of loading it behind our back.
UNREAD = (defer(Submission.source, raiseload=True), defer(Submission.report, raiseload=True))


def summary(sub: Submission, user: User | str) -> SubmissionSummary:
    name = user if isinstance(user, str) else user.name
    return SubmissionSummary(id=sub.id, problem=sub.problem, user=name, status=sub.status,
                             verdict=sub.verdict, score=sub.score, counts=sub.counts,
                             created=utc(sub.created),
                             finished=None if sub.finished is None else utc(sub.finished))


def readable(request: Request, submission_id: int, user: User,
             full: bool = True) -> tuple[Submission, str]:
    """The submission and its author's name, if `user` may read it; else 404 (never 403: a
    learner cannot even learn that another's id exists). Without `full`, its source and report
    are not loaded."""
    with request.app.state.db.session() as s:
        sub = s.get(Submission, submission_id, options=() if full else UNREAD)
        if sub is None or (sub.user_id != user.id and not user.staff):
            raise NotFound("no such submission")
        author = s.get(User, sub.user_id)
        return sub, author.name if author else "?"


@router.post("", status_code=201, response_model=Created,
             responses=errors(401, 403, 404, 422, 429, 503), openapi_extra=SUBMISSION_BODY)
async def submit(request: Request, response: Response,
                 user: User = Depends(current_user)) -> Created:
    """JSON {"problem", "source"} or multipart (`problem`, `file`); Idempotency-Key honoured.
    The row is committed before the queue hears of it: once this answers 201, the database
    holds the submission, whatever happens to the queue."""
    settings = request.app.state.settings
    key = idempotency_key(request)
    intake = await read_intake(request, settings.source_cap)
    db = request.app.state.db
    with db.session() as s:
        again = replay(s, user, key, intake)
        if again is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return Created(id=again.id, status=again.status)
        check_limits(s, user, settings, intake.problem)
        sub = Submission(user_id=user.id, problem=intake.problem, filename=intake.filename,
                         source=intake.source, sha256=intake.sha256, idempotency_key=key)
        s.add(sub)
        try:
            s.flush()
        except IntegrityError:  # the same key, sent twice at once: the other request won
            s.rollback()
            again = replay(s, user, key, intake)
            if again is None:
                raise
            response.headers["Idempotent-Replayed"] = "true"
            return Created(id=again.id, status=again.status)
        created = Created(id=sub.id, status=Status.QUEUED)
    request.app.state.queue.wake(submission=created.id)
    response.headers["Location"] = f"/api/v1/submissions/{created.id}"
    return created


@router.get("", response_model=list[SubmissionSummary], responses=errors(401, 422, 503))
def mine(request: Request,
         problem: Annotated[str | None, Query(pattern=PROBLEM_ID.pattern)] = None,
         user: User = Depends(current_user)) -> list[SubmissionSummary]:
    """My submissions, newest first (optionally of one problem)."""
    with request.app.state.db.session() as s:
        query = select(Submission).options(*UNREAD).where(Submission.user_id == user.id)
        if problem is not None:
            query = query.where(Submission.problem == problem)
        rows = s.scalars(query.order_by(Submission.id.desc()).limit(500))
        return [summary(r, user) for r in rows]


@router.get("/{submission_id}", response_model=SubmissionDetail,
            responses=errors(401, 404, 422, 503))
def detail(request: Request, submission_id: SubmissionId,
           user: User = Depends(current_user)) -> SubmissionDetail:
    sub, author = readable(request, submission_id, user)
    report = sub.report
    if report is not None and not user.staff:
        report = redact(report)
    return SubmissionDetail(**summary(sub, author).model_dump(), filename=sub.filename,
                            sha256=sub.sha256, attempts=sub.attempts,
                            source=sub.source.decode("utf-8", "replace"), report=report)
