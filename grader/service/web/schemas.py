"""API schemas (pydantic), apart from the database models: what clients send and receive."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from grader.service.store.models import SubmissionRow, User


class ProblemSummary(BaseModel):
    id: str
    title: str


class Example(BaseModel):
    name: str
    call: str | None = None  # the entry it calls, in a problem with several
    args: dict[str, Any]
    expected: Any


class ProblemDetail(ProblemSummary):
    statement: str
    signature: str
    examples: list[Example]


class Created(BaseModel):
    id: int
    status: str


class SubmissionSummary(BaseModel):
    id: int
    problem: str
    user: str
    status: str
    verdict: str | None
    score: float | None
    counts: bool  # false for a Run, and for a grade the judge gave up on
    run: bool  # a Run: visible tests and checks only, never counted
    created: dt.datetime
    finished: dt.datetime | None


class SubmissionDetail(SubmissionSummary):
    filename: str
    sha256: str
    attempts: int
    source: str
    report: dict[str, Any] | None  # redacted for learners


class Me(BaseModel):
    user: str | None
    role: str | None
    csrf_token: str


class Requeued(BaseModel):
    problem: str
    requeued: int


class GradebookRow(BaseModel):
    user: str
    problem: str
    best_score: float
    submissions: int
    accepted: bool
    hints: int  # hints the learner asked for ("Show a hint"), not those a failure showed


class HintsTaken(BaseModel):
    """The hints of one problem one learner asked for ("Show a hint")."""

    user: str
    problem: str
    hints: list[int]  # which of the statement's hints (1-based), in order
    last: dt.datetime  # when the last of them was asked for


def utc(t: dt.datetime) -> dt.datetime:
    """A stored time (naive, always UTC) with its zone: RFC 3339, as the schema promises."""
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def summary(sub: SubmissionRow, user: User | str) -> SubmissionSummary:
    name = user if isinstance(user, str) else user.name
    return SubmissionSummary(id=sub.id, problem=sub.problem, user=name, status=sub.status,
                             verdict=sub.verdict, score=sub.score,
                             counts=sub.counts and not sub.run, run=sub.run,
                             created=utc(sub.created),
                             finished=None if sub.finished is None else utc(sub.finished))
