"""Submissions: submit, list mine, read one (redacted for learners), follow its grading."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from grader.model.report import redact
from grader.service.store import queries
from grader.service.web.catalog import PROBLEM_ID
from grader.service.web.deps import AppSettings, CurrentUser, Db, SubmissionId, WorkQueue
from grader.service.web.intake import idempotency_key, read_intake
from grader.service.web.responses import errors
from grader.service.web.schemas import Created, SubmissionDetail, SubmissionSummary, summary

router = APIRouter(prefix="/api/v1/submissions", tags=["submissions"])

# The body `submit` reads itself (intake.read_intake: bounded, either format), as documented.
_PROBLEM = {"type": "string", "pattern": PROBLEM_ID.pattern, "description": "the problem's id"}
_SOURCE = {"type": "string", "description": "the solution's Python source: UTF-8 text, at most "
                                            "the service's source cap (64 KiB by default)"}
_RUN_TEXT = ("a Run: graded on the visible tests and checks only (no hidden input reaches the "
             "sandbox), shown to you alone, never counted (no score, gradebook or attempt), "
             "with its own rate limit")
_RUN = {"type": "boolean", "default": False, "description": _RUN_TEXT}
SUBMISSION_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {
        "schema": {"type": "object", "required": ["problem", "source"],
                   "properties": {"problem": _PROBLEM, "source": _SOURCE, "run": _RUN}},
        "example": {"problem": "reinforce_grad", "source": "def reinforce_grad(): ...\n"}},
    "multipart/form-data": {
        "schema": {"type": "object", "required": ["problem", "file"],
                   "properties": {"problem": _PROBLEM,
                                  "file": {**_SOURCE, "description": "the .py file to grade"},
                                  "run": {"type": "string", "enum": ["true", "false"],
                                          "default": "false", "description": _RUN_TEXT}}},
        "encoding": {"file": {"contentType": "text/x-python"}}},
}}}


@router.post("", status_code=201, response_model=Created,
             responses=errors(401, 403, 404, 422, 429, 503), openapi_extra=SUBMISSION_BODY)
async def submit(request: Request, response: Response, user: CurrentUser, settings: AppSettings,
                 db: Db, queue: WorkQueue) -> Created:
    """JSON {"problem", "source"} or multipart (`problem`, `file`); Idempotency-Key honoured.
    `"run": true` makes it a Run: the visible tests and checks only, never counted.
    The row is committed before the queue hears of it: once this answers 201, the database
    holds the submission, whatever happens to the queue."""
    key = idempotency_key(request)
    intake = await read_intake(request, settings.source_cap)
    stored = queries.create_submission(db, user, settings, intake, key)
    if stored.replayed:
        response.headers["Idempotent-Replayed"] = "true"
        return Created(id=stored.id, status=stored.status)
    queue.wake(submission=stored.id)
    response.headers["Location"] = f"/api/v1/submissions/{stored.id}"
    return Created(id=stored.id, status=stored.status)


@router.get("", response_model=list[SubmissionSummary], responses=errors(401, 422, 503))
def mine(problem: Annotated[str | None, Query(pattern=PROBLEM_ID.pattern)] = None, *,
         user: CurrentUser, db: Db) -> list[SubmissionSummary]:
    """My submissions, newest first (optionally of one problem)."""
    return [summary(r, user) for r in queries.mine(db, user, problem)]


@router.get("/{submission_id}", response_model=SubmissionDetail,
            responses=errors(401, 404, 422, 503))
def detail(submission_id: SubmissionId, user: CurrentUser, db: Db) -> SubmissionDetail:
    sub, author = queries.readable(db, submission_id, user)
    report = sub.report
    if report is not None and not user.staff:
        report = redact(report)
    return SubmissionDetail(**summary(sub, author).model_dump(), filename=sub.filename,
                            sha256=sub.sha256, attempts=sub.attempts,
                            source=sub.source.decode("utf-8", "replace"), report=report)
