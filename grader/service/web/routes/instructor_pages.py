"""Instructors' pages: every submission per problem, the gradebook and its exports, rejudge."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from grader.batch.exports import gradescope, slug
from grader.model.problems import list_problems
from grader.model.report import redact
from grader.service.errors import NotFound
from grader.service.store.models import Role, Status, Submission, User
from grader.service.web.routes import instructor_api as instructor
from grader.service.web.routes.submissions_api import UNREAD
from grader.service.web.security import Principal, check_csrf, optional_principal, require_role
from grader.service.web.templating import page, to_sign_in

router = APIRouter(prefix="/instructor", include_in_schema=False)
staff = require_role(Role.INSTRUCTOR, Role.ADMIN)


def _staff_only(request: Request, principal: Principal | None) -> Response | None:
    """Signed out: the sign-in form; a learner: 404, as if these pages did not exist."""
    if principal is None:
        return to_sign_in(request)
    if not principal.user.staff:
        raise NotFound("no such page")
    return None


@router.get("", response_class=HTMLResponse)
def overview(request: Request, rejudged: str | None = None,
             principal: Principal | None = Depends(optional_principal)) -> Response:
    """Per problem, every submission, newest first."""
    denied = _staff_only(request, principal)
    if denied is not None:
        return denied
    problems = list_problems()
    with request.app.state.db.session() as s:
        rows = s.execute(select(Submission, User.name).options(*UNREAD).join(User)
                         .order_by(Submission.id.desc()).limit(2000)).all()
    by_problem: dict[str, list[tuple[Submission, str]]] = {p.id: [] for p in problems}
    for sub, name in rows:
        by_problem.setdefault(sub.problem, []).append((sub, name))
    return page(request, "instructor.html", principal, problems=problems,
                by_problem=by_problem, rejudged=rejudged)


@router.get("/gradebook", response_class=HTMLResponse)
def gradebook(request: Request,
              principal: Principal | None = Depends(optional_principal)) -> Response:
    """Best counting score per learner (rows) and problem (columns)."""
    denied = _staff_only(request, principal)
    if denied is not None:
        return denied
    rows = instructor.gradebook_rows(request)
    problems = sorted({r.problem for r in rows})
    table: dict[str, dict[str, Any]] = {}
    for r in rows:
        table.setdefault(r.user, {})[r.problem] = r
    return page(request, "gradebook.html", principal, problems=problems, table=table)


def best_reports(request: Request) -> dict[tuple[str, str], dict[str, Any]]:
    """Each learner's best counting report per problem (the latest among equal scores)."""
    with request.app.state.db.session() as s:
        rows = s.execute(select(User.name, Submission.problem, Submission.report)
                         .join(User).where(Submission.status == Status.DONE,
                                           Submission.counts.is_(True),
                                           Submission.report.is_not(None))
                         .order_by(Submission.score.asc(), Submission.id.asc())).all()
    return {(name, problem): report for name, problem, report in rows}  # the last one wins


@router.get("/gradescope.zip")
def gradescope_zip(request: Request,
                   principal: Principal | None = Depends(optional_principal)) -> Response:
    """<learner>/<problem>/results.json in Gradescope's format, from each best report as its
    learner may read it: Gradescope shows the tests' output to learners once published."""
    denied = _staff_only(request, principal)
    if denied is not None:
        return denied
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for (name, problem), report in sorted(best_reports(request).items()):
            z.writestr(f"{slug(name)}/{slug(problem)}/results.json",
                       json.dumps(gradescope(redact(report)), indent=2))
    return Response(buffer.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="gradescope.zip"'})


@router.post("/problems/{problem_id}/rejudge", dependencies=[Depends(check_csrf)])
def rejudge(request: Request, problem_id: str, user: User = Depends(staff)) -> Response:
    done = instructor.rejudge(request, problem_id, user)
    return RedirectResponse(f"/instructor?rejudged={done.problem}:{done.requeued}#{done.problem}",
                            status_code=303)
