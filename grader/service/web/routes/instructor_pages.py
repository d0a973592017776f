"""Instructors' pages: every submission per problem and the hints its learners asked for, the
gradebook and its exports, rejudge."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from grader.batch.exports import gradescope, slug
from grader.model.problems import list_problems
from grader.model.report import redact
from grader.service.errors import NotFound
from grader.service.store import hints, queries
from grader.service.store.models import SubmissionRow
from grader.service.web.catalog import find_problem
from grader.service.web.deps import Db, Staff, Visitor, WorkQueue
from grader.service.web.security.csrf import check_csrf
from grader.service.web.security.principal import Principal
from grader.service.web.templating import page, to_sign_in

router = APIRouter(prefix="/instructor", include_in_schema=False)


def _staff_only(request: Request, principal: Principal | None) -> Response | None:
    """Signed out: the sign-in form; a learner: 404, as if these pages did not exist."""
    if principal is None:
        return to_sign_in(request)
    if not principal.user.staff:
        raise NotFound("no such page")
    return None


@router.get("", response_class=HTMLResponse)
def overview(request: Request, principal: Visitor, db: Db,
             rejudged: str | None = None) -> Response:
    """Per problem, every submission, newest first, and per learner the hints they asked for."""
    denied = _staff_only(request, principal)
    if denied is not None:
        return denied
    problems = list_problems()
    rows = queries.of_problem(db, None, limit=2000)
    by_problem: dict[str, list[tuple[SubmissionRow, str]]] = {p.id: [] for p in problems}
    for sub, name in rows:
        by_problem.setdefault(sub.problem, []).append((sub, name))
    taken: dict[str, list[hints.Taken]] = {}
    for t in hints.of_problem(db):
        taken.setdefault(t.problem, []).append(t)
    return page(request, "instructor.html", principal, problems=problems,
                by_problem=by_problem, taken=taken, rejudged=rejudged)


@router.get("/gradebook", response_class=HTMLResponse)
def gradebook(request: Request, principal: Visitor, db: Db) -> Response:
    """Best counting score per learner (rows) and problem (columns)."""
    denied = _staff_only(request, principal)
    if denied is not None:
        return denied
    rows = [b._replace(best_score=b.best_score or 0.0) for b in queries.best_counting(db)]
    problems = sorted({r.problem for r in rows})
    table: dict[str, dict[str, Any]] = {}
    for r in rows:
        table.setdefault(r.user, {})[r.problem] = r
    return page(request, "gradebook.html", principal, problems=problems, table=table,
                hints=hints.counts(db))


@router.get("/gradescope.zip")
def gradescope_zip(request: Request, principal: Visitor, db: Db) -> Response:
    """<learner>/<problem>/results.json in Gradescope's format, from each best report as its
    learner may read it: Gradescope shows the tests' output to learners once published."""
    denied = _staff_only(request, principal)
    if denied is not None:
        return denied
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for (name, problem), report in sorted(queries.best_reports(db).items()):
            z.writestr(f"{slug(name)}/{slug(problem)}/results.json",
                       json.dumps(gradescope(redact(report)), indent=2))
    return Response(buffer.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="gradescope.zip"'})


@router.post("/problems/{problem_id}/rejudge", dependencies=[Depends(check_csrf)])
def rejudge(problem_id: str, _: Staff, db: Db, queue: WorkQueue) -> Response:
    problem = find_problem(problem_id)
    requeued = queries.rejudge(db, problem.id)
    queue.wake(requeued)
    return RedirectResponse(f"/instructor?rejudged={problem.id}:{requeued}#{problem.id}",
                            status_code=303)
