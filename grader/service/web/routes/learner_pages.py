"""Learners' pages: the problem list, a problem (read, submit), my submissions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from starlette.datastructures import UploadFile

from grader.errors import JudgeError
from grader.model.problems import Problem, list_problems, signature
from grader.service.errors import Invalid
from grader.service.store.models import Status, Submission, User
from grader.service.web.intake import SAFE_NAME, Intake, check_limits, utf8_source
from grader.service.web.routes.problems_api import examples, find_problem
from grader.service.web.routes.submissions_api import UNREAD
from grader.service.web.security import Principal, check_csrf, current_user, optional_principal
from grader.service.web.templating import markdown, page, to_sign_in

router = APIRouter(include_in_schema=False)


def _standing(request: Request, user: User) -> dict[str, dict[str, Any]]:
    """Per problem: how many I submitted, my best counting score, whether I was accepted."""
    with request.app.state.db.session() as s:
        tried = dict(s.execute(select(Submission.problem, func.count())
                               .where(Submission.user_id == user.id)
                               .group_by(Submission.problem)).all())
        graded = s.execute(
            select(Submission.problem, func.max(Submission.score),
                   func.max(Submission.verdict == "accepted"))
            .where(Submission.user_id == user.id, Submission.status == Status.DONE,
                   Submission.counts.is_(True)).group_by(Submission.problem)).all()
    out: dict[str, dict[str, Any]] = {p: {"submissions": n, "best": None, "solved": False}
                                      for p, n in tried.items()}
    for problem, best, accepted in graded:
        out[problem].update(best=best, solved=bool(accepted))
    return out


@router.get("/", response_class=HTMLResponse)
def home(request: Request,
         principal: Principal | None = Depends(optional_principal)) -> HTMLResponse:
    standing = _standing(request, principal.user) if principal else {}
    rows = [{"id": p.id, "title": p.spec.title, "submissions": 0, "best": None,
             "solved": False, **standing.get(p.id, {})}
            for p in list_problems()]
    return page(request, "home.html", principal, problems=rows)


def _mine(request: Request, user: User, problem: str | None = None) -> list[Submission]:
    with request.app.state.db.session() as s:
        query = select(Submission).options(*UNREAD).where(Submission.user_id == user.id)
        if problem is not None:
            query = query.where(Submission.problem == problem)
        return list(s.scalars(query.order_by(Submission.id.desc()).limit(200)))


def _reference(problem: Problem, user: User | None, mine: list[Submission]) -> str | None:
    """The reference solution, for staff, or once I am accepted where the spec allows it."""
    if user is None:
        return None
    accepted = any(s.verdict == "accepted" and s.counts for s in mine)
    if not (user.staff or (accepted and problem.spec.show_reference_after_accepted)):
        return None
    try:
        return problem.reference_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JudgeError(f"{problem.reference_path}: cannot read the reference") from exc


@router.get("/problems/{problem_id}", response_class=HTMLResponse)
def problem_page(request: Request, problem_id: str,
                 principal: Principal | None = Depends(optional_principal)) -> HTMLResponse:
    """Readable signed out: statement, signature, visible examples; signed in: submit."""
    problem = find_problem(problem_id)
    user = principal.user if principal else None
    mine = _mine(request, user, problem.id) if user else []
    return page(request, "problem.html", principal, problem=problem,
                statement=markdown(problem.statement()), signature=signature(problem),
                examples=examples(problem), mine=[(m, user.name) for m in mine if user],
                reference=_reference(problem, user, mine), starter="",
                cap_kib=request.app.state.settings.source_cap // 1024)


async def _form_intake(request: Request, problem: Problem) -> Intake:
    """The editor's text, or the uploaded file when one was chosen."""
    cap = request.app.state.settings.source_cap
    form = await request.form(max_files=1, max_fields=8, max_part_size=cap + 1024)
    upload, text = form.get("file"), form.get("source")
    if isinstance(upload, UploadFile) and upload.filename:
        source = await upload.read(cap + 1)
        name = SAFE_NAME.sub("_", upload.filename.rsplit("/", 1)[-1])[:100]
        return Intake(problem.id, name or f"{problem.id}.py", utf8_source(source, cap))
    if not isinstance(text, str) or not text.strip():
        raise Invalid("write your solution in the editor or choose a file")
    return Intake(problem.id, f"{problem.id}.py", utf8_source(text.replace("\r\n", "\n"), cap))


@router.post("/problems/{problem_id}/submit", dependencies=[Depends(check_csrf)])
async def submit_form(request: Request, problem_id: str,
                      user: User = Depends(current_user)) -> Response:
    """The editor's form: stored (then queued) like an API submission, 303 to its page."""
    intake = await _form_intake(request, find_problem(problem_id))
    settings = request.app.state.settings
    with request.app.state.db.session() as s:
        check_limits(s, user, settings, intake.problem)
        sub = Submission(user_id=user.id, problem=intake.problem, filename=intake.filename,
                         source=intake.source, sha256=intake.sha256)
        s.add(sub)
        s.flush()
        sid = sub.id
    request.app.state.queue.wake(submission=sid)
    return RedirectResponse(f"/submissions/{sid}", status_code=303)


@router.get("/submissions", response_class=HTMLResponse)
def my_submissions(request: Request,
                   principal: Principal | None = Depends(optional_principal)) -> Response:
    if principal is None:
        return to_sign_in(request)
    user = principal.user
    return page(request, "submissions.html", principal,
                rows=[(m, user.name) for m in _mine(request, user)])
