"""Browser sessions: who am I (and my CSRF token), sign in and sign out by form."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from grader.service.store.models import User, utcnow
from grader.service.store.passwords import Busy
from grader.service.store.throttle import forget_failures, record_failure, wait_seconds, withdraw
from grader.service.web.deps import AppSettings, Db, Gate, Visitor
from grader.service.web.responses import errors
from grader.service.web.schemas import Me
from grader.service.web.security.csrf import check_csrf, issue_csrf
from grader.service.web.security.principal import sign_in, sign_out
from grader.service.web.templating import page

router = APIRouter(tags=["session"])
NO_NUL = r"^[^\x00]*$"  # the name is looked up and counted: PostgreSQL's text holds no NUL
BUSY_RETRY_S = 2  # Retry-After when this process has as many sign-ins in hand as it takes


def safe_next(target: str | None) -> str:
    """Only a path on this site: `//evil.example` or `https://…` would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@router.get("/api/v1/me", response_model=Me, responses=errors(401, 503))
def me(request: Request, principal: Visitor) -> Me:
    """The signed-in user (or none) and the CSRF token that this session's forms must carry."""
    user = principal.user if principal else None
    return Me(user=user.name if user else None, role=user.role if user else None,
              csrf_token=issue_csrf(request))


@router.get("/login", response_class=HTMLResponse, responses=errors(401, 422, 503, html=True))
def login_page(request: Request, principal: Visitor, next: str | None = None) -> HTMLResponse:
    return page(request, "login.html", principal, next=safe_next(next), name="", message="")


@router.post("/login", dependencies=[Depends(check_csrf)], response_model=None,
             responses={**errors(403, 422, 503, html=True), 303: {},
                        401: {"content": {"text/html": {}}}, 429: {"content": {"text/html": {}}}})
def login(request: Request, settings: AppSettings, db: Db, gate: Gate,
          name: str = Form(max_length=64, pattern=NO_NUL),
          password: str = Form(max_length=256),
          next: str | None = Form(None, max_length=512)) -> RedirectResponse | HTMLResponse:
    """Form sign-in (with the csrf_token of the visitor's session); 303 to `next` on success,
    the form again with a message (401) on a wrong name or password, 429 with Retry-After,
    without checking the password, once the name or the address has failed too often
    (`throttle`), and 503 with Retry-After when this process is hashing and queueing as many
    passwords as it may (`HashGate`): a flood of sign-ins costs bounded memory and threads.
    An unknown name costs the same hash as a known one: the time tells no names."""
    client = request.client.host if request.client else "-"
    form = {"next": safe_next(next), "name": name}
    with db.session() as s:
        now = utcnow()
        attempt = record_failure(s, name, client, settings, now)  # until the password is right
        wait = wait_seconds(s, name, client, settings, now, before=attempt)
        if wait:
            withdraw(s, attempt)
        user = s.scalar(select(User).where(User.name == name))
    if wait:
        response = page(request, "login.html", None, status=429, **form,
                        message=f"Too many failed sign-ins: try again in {wait} s.")
        response.headers["Retry-After"] = str(wait)
        return response
    try:  # no database connection held while waiting for a hash slot
        ok = gate.verify(password, user.password_hash if user else None)
    except Busy:
        with db.session() as s:
            withdraw(s, attempt)
        response = page(request, "login.html", None, status=503, **form,
                        message=f"The server is busy: try again in {BUSY_RETRY_S} s.")
        response.headers["Retry-After"] = str(BUSY_RETRY_S)
        return response
    if user is None or not ok:
        return page(request, "login.html", None, status=401, **form,
                    message="Wrong name or password.")
    with db.session() as s:
        forget_failures(s, name, client)
    sign_in(request, user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)], response_class=RedirectResponse,
             status_code=303, responses=errors(403, html=True))
def logout(request: Request) -> RedirectResponse:
    """Ends this session on the server: the cookie, even a copy kept elsewhere, is dead."""
    sign_out(request)
    return RedirectResponse("/", status_code=303)
