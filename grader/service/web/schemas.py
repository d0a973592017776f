"""API schemas (pydantic), apart from the database models: what clients send and receive."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel


class ProblemSummary(BaseModel):
    id: str
    title: str


class Example(BaseModel):
    name: str
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
    counts: bool
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
