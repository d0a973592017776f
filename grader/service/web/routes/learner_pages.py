"""Learners' pages: the problem list, a track, a problem (read, take a hint, submit), my
submissions."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from grader.errors import JudgeError
from grader.model.problems import Problem, list_problems, signature
from grader.model.tracks import grouped, optional_tracks
from grader.service.errors import NotFound
from grader.service.store import hints, queries
from grader.service.store.db import Database
from grader.service.store.models import Status, SubmissionRow, User
from grader.service.web.catalog import examples, find_problem
from grader.service.web.deps import AppSettings, CurrentUser, Db, Visitor, WorkQueue
from grader.service.web.intake import read_editor_form
from grader.service.web.security.csrf import check_csrf
from grader.service.web.statements import hints_shown, render_statement
from grader.service.web.templating import page, to_sign_in

router = APIRouter(include_in_schema=False)
log = logging.getLogger("jaxjudge.pages")
MINE = 200  # my submissions a page lists


def _standing(db: Database, user: User) -> dict[str, dict[str, Any]]:
    """Per problem: how many I submitted, my best counting score, whether I was accepted."""
    out: dict[str, dict[str, Any]] = {p: {"submissions": n, "best": None, "solved": False}
                                      for p, n in queries.tried(db, user).items()}
    for b in queries.best_counting(db, user):
        out[b.problem].update(best=b.best_score, solved=b.accepted)
    return out


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: Visitor, db: Db) -> HTMLResponse:
    """The problems by track, in the order a learner climbs them, with my progress in each."""
    standing = _standing(db, principal.user) if principal else {}
    tracks = optional_tracks()
    groups: list[dict[str, Any]] = []
    for title, problems in grouped(list_problems(), tracks):
        rows = _rows(problems, standing)
        track = tracks.track_of(problems[0].id) if tracks else None
        groups.append({"title": title, "problems": rows, "track": track.id if track else None,
                       "solved": sum(1 for r in rows if r["solved"])})
    return page(request, "home.html", principal, groups=groups)


def _rows(problems: list[Problem], standing: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": p.id, "title": p.spec.title, "difficulty": p.spec.difficulty,
             "tags": p.spec.tags, "submissions": 0, "best": None,
             "solved": False, **standing.get(p.id, {})} for p in problems]


@router.get("/tracks/{track_id}", response_class=HTMLResponse)
def track_page(request: Request, track_id: str, principal: Visitor, db: Db) -> HTMLResponse:
    """One track's problems in the order to solve them, with my progress in each."""
    tracks = optional_tracks()
    track = next((t for t in tracks.tracks if t.id == track_id), None) if tracks else None
    if track is None:
        raise NotFound("no such track")
    by_id = {p.id: p for p in list_problems()}
    rows = _rows([by_id[i] for i in track.problems if i in by_id],
                 _standing(db, principal.user) if principal else {})
    return page(request, "track.html", principal, track=track, problems=rows,
                solved=sum(1 for r in rows if r["solved"]))


def _reference(problem: Problem, user: User | None, mine: list[SubmissionRow]) -> str | None:
    """The reference solution, for staff, or once I am accepted where the spec allows it."""
    if user is None:
        return None
    accepted = any(s.verdict == "accepted" and s.counts and not s.run for s in mine)
    if not (user.staff or (accepted and problem.spec.show_reference_after_accepted)):
        return None
    try:
        return problem.reference_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JudgeError(f"{problem.reference_path}: cannot read the reference") from exc


def _neighbours(problem_id: str) -> dict[str, Any]:
    """The previous and next problem of its track, for the page's rel=prev/next links."""
    tracks = optional_tracks()
    track = tracks.track_of(problem_id) if tracks else None
    if tracks is None or track is None:
        return {}
    prev, nxt = tracks.neighbours(problem_id)
    return {"track": track.title, "prev": prev, "next": nxt}


def _shown(db: Database, user: User, problem: str, mine: list[SubmissionRow],
           total: int) -> int:
    """How many of the problem's hints I see: one per judged submission of mine that was not
    accepted (a judge failure is none, and so is a Run), one per hint I asked for."""
    failures = sum(1 for s in mine if s.status == Status.DONE and s.counts and not s.run
                   and s.verdict != "accepted")
    taken = hints.taken(db, user, problem)
    return hints_shown(total, failures, len(taken), max(taken, default=0))


@router.get("/problems/{problem_id}", response_class=HTMLResponse)
def problem_page(request: Request, problem_id: str, principal: Visitor, db: Db,
                 settings: AppSettings) -> HTMLResponse:
    """Readable signed out: statement, signature, visible examples; signed in: submit, and the
    statement's hints, one more after each failed submission or each one asked for."""
    problem = find_problem(problem_id)
    user = principal.user if principal else None
    mine = queries.mine(db, user, problem.id, limit=MINE) if user else []
    statement = render_statement(problem.statement())
    shown = 0
    if user is not None:
        shown = _shown(db, user, problem.id, mine, len(statement.hints))
    return page(request, "problem.html", principal, problem=problem,
                statement=statement.body, hints=statement.hints[:shown],
                more_hints=len(statement.hints) - shown, signature=signature(problem),
                given=problem.given_source(),
                examples=examples(problem), mine=[(m, user.name) for m in mine if user],
                reference=_reference(problem, user, mine), starter="",
                neighbours=_neighbours(problem.id),
                cap_kib=settings.source_cap // 1024)


@router.post("/problems/{problem_id}/hint", dependencies=[Depends(check_csrf)])
def take_hint(problem_id: str, user: CurrentUser, db: Db,
              hint: int = Form(ge=1, le=1000)) -> Response:
    """"Show a hint": the form names the hint it shows (the one after those on the page), and
    that one is recorded for instructors if it is the next I have not seen; a double click or
    a replayed form names a hint already recorded or shown, and changes nothing."""
    problem = find_problem(problem_id)
    total = len(render_statement(problem.statement()).hints)
    mine = queries.mine(db, user, problem.id, limit=MINE)
    if hint == _shown(db, user, problem.id, mine, total) + 1 <= total and hints.take(
            db, user, problem.id, hint):
        log.info("hint taken", extra={"user": user.name, "problem": problem.id, "hint": hint})
    return RedirectResponse(f"/problems/{problem.id}#hints", status_code=303)


@router.post("/problems/{problem_id}/submit", dependencies=[Depends(check_csrf)])
async def submit_form(request: Request, problem_id: str, user: CurrentUser, db: Db,
                      settings: AppSettings, queue: WorkQueue) -> Response:
    """The editor's form: stored (then queued) like an API submission, 303 to its page; its
    Run button sends the same form with `run=1`."""
    intake = await read_editor_form(request, find_problem(problem_id), settings.source_cap)
    stored = queries.create_submission(db, user, settings, intake)
    queue.wake(submission=stored.id)
    return RedirectResponse(f"/submissions/{stored.id}", status_code=303)


@router.get("/submissions", response_class=HTMLResponse)
def my_submissions(request: Request, principal: Visitor, db: Db) -> Response:
    if principal is None:
        return to_sign_in(request)
    user = principal.user
    return page(request, "submissions.html", principal,
                rows=[(m, user.name) for m in queries.mine(db, user, limit=MINE)])
