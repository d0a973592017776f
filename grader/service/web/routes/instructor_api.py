"""Instructors: every submission of a problem, the hints its learners asked for, the
gradebook (JSON, CSV), rejudge."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter
from fastapi.responses import Response

from grader.service.store import hints, queries
from grader.service.store.db import Database
from grader.service.web.catalog import find_problem
from grader.service.web.deps import Db, Staff, WorkQueue
from grader.service.web.responses import errors
from grader.service.web.schemas import (
    GradebookRow,
    HintsTaken,
    Requeued,
    SubmissionSummary,
    summary,
    utc,
)

router = APIRouter(prefix="/api/v1", tags=["instructors"])


@router.get("/problems/{problem_id}/submissions", response_model=list[SubmissionSummary],
            responses=errors(401, 403, 404, 422, 503))
def problem_submissions(problem_id: str, _: Staff, db: Db) -> list[SubmissionSummary]:
    problem = find_problem(problem_id)
    return [summary(sub, name) for sub, name in queries.of_problem(db, problem.id)]


@router.get("/problems/{problem_id}/hints", response_model=list[HintsTaken],
            responses=errors(401, 403, 404, 422, 503))
def problem_hints(problem_id: str, _: Staff, db: Db) -> list[HintsTaken]:
    """Per learner, the problem's hints they asked for ("Show a hint"); not the ones a failed
    submission showed them (those follow from their submissions)."""
    problem = find_problem(problem_id)
    return [HintsTaken(user=t.user, problem=t.problem, hints=t.hints, last=utc(t.last))
            for t in hints.of_problem(db, problem.id)]


def gradebook_rows(db: Database) -> list[GradebookRow]:
    taken = hints.counts(db)
    return [GradebookRow(user=b.user, problem=b.problem, best_score=b.best_score or 0.0,
                         submissions=b.submissions, accepted=b.accepted,
                         hints=taken.get((b.user, b.problem), 0))
            for b in queries.best_counting(db)]


@router.get("/gradebook", response_model=list[GradebookRow], responses=errors(401, 403, 503))
def gradebook(_: Staff, db: Db) -> list[GradebookRow]:
    return gradebook_rows(db)


@router.get("/gradebook.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}, **errors(401, 403, 503)})
def gradebook_csv(_: Staff, db: Db) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["user", "problem", "best_score", "submissions", "accepted", "hints"])
    for r in gradebook_rows(db):  # user names are [A-Za-z0-9_.-]: no formula injection
        writer.writerow([r.user, r.problem, f"{r.best_score:.4f}", r.submissions, r.accepted,
                         r.hints])
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="gradebook.csv"'})


@router.post("/problems/{problem_id}/rejudge", response_model=Requeued,
             responses=errors(401, 403, 404, 422, 503))
def rejudge(problem_id: str, _: Staff, db: Db, queue: WorkQueue) -> Requeued:
    """Every submission of the problem back to the queue with fresh attempts; a grade still
    under way is dropped when it finishes (its claim token no longer matches)."""
    problem = find_problem(problem_id)
    requeued = queries.rejudge(db, problem.id)
    queue.wake(requeued)
    return Requeued(problem=problem.id, requeued=requeued)
