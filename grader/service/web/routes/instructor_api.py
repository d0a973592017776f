"""Instructors: every submission of a problem, the gradebook (JSON, CSV), rejudge."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import delete, func, select, update

from grader.service.store.models import Event, Role, Status, Submission, User
from grader.service.web.responses import errors
from grader.service.web.routes.problems_api import find_problem
from grader.service.web.routes.submissions_api import UNREAD, summary
from grader.service.web.schemas import GradebookRow, Requeued, SubmissionSummary
from grader.service.web.security import require_role

router = APIRouter(prefix="/api/v1", tags=["instructors"])
staff = require_role(Role.INSTRUCTOR, Role.ADMIN)


@router.get("/problems/{problem_id}/submissions", response_model=list[SubmissionSummary],
            responses=errors(401, 403, 404, 422, 503))
def problem_submissions(request: Request, problem_id: str,
                        _: User = Depends(staff)) -> list[SubmissionSummary]:
    problem = find_problem(problem_id)
    with request.app.state.db.session() as s:
        rows = s.execute(select(Submission, User.name).options(*UNREAD).join(User)
                         .where(Submission.problem == problem.id)
                         .order_by(Submission.id.desc()).limit(5000)).all()
        return [summary(sub, name) for sub, name in rows]


def gradebook_rows(request: Request) -> list[GradebookRow]:
    """Best counting score per learner and problem; a submission the judge gave up on never
    counts against anyone."""
    with request.app.state.db.session() as s:
        rows = s.execute(
            select(User.name, Submission.problem, func.max(Submission.score), func.count(),
                   func.max(Submission.verdict == "accepted"))
            .join(User).where(Submission.status == Status.DONE, Submission.counts.is_(True))
            .group_by(User.name, Submission.problem).order_by(User.name, Submission.problem))
        return [GradebookRow(user=u, problem=p, best_score=b or 0.0, submissions=n,
                             accepted=bool(a)) for u, p, b, n, a in rows]


@router.get("/gradebook", response_model=list[GradebookRow], responses=errors(401, 403, 503))
def gradebook(request: Request, _: User = Depends(staff)) -> list[GradebookRow]:
    return gradebook_rows(request)


@router.get("/gradebook.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}, **errors(401, 403, 503)})
def gradebook_csv(request: Request, _: User = Depends(staff)) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["user", "problem", "best_score", "submissions", "accepted"])
    for r in gradebook_rows(request):  # user names are [A-Za-z0-9_.-]: no formula injection
        writer.writerow([r.user, r.problem, f"{r.best_score:.4f}", r.submissions, r.accepted])
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="gradebook.csv"'})


@router.post("/problems/{problem_id}/rejudge", response_model=Requeued,
             responses=errors(401, 403, 404, 422, 503))
def rejudge(request: Request, problem_id: str, _: User = Depends(staff)) -> Requeued:
    """Every submission of the problem back to the queue with fresh attempts; a grade still
    under way is dropped when it finishes (its claim token no longer matches)."""
    problem = find_problem(problem_id)
    with request.app.state.db.session() as s:
        ids = list(s.scalars(select(Submission.id).where(Submission.problem == problem.id)))
        s.execute(delete(Event).where(Event.submission_id.in_(ids)))
        s.execute(update(Submission).where(Submission.id.in_(ids)).values(
            status=Status.QUEUED, attempts=0, claim=None, grader=None, lease_until=None,
            verdict=None, score=None, report=None, counts=True, started=None, finished=None))
    request.app.state.queue.wake(len(ids))
    return Requeued(problem=problem.id, requeued=len(ids))
