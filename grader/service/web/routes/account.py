"""One's own account: browser sessions (sign out everywhere) and API tokens (add, rotate,
revoke), as a page with forms and as API calls. Each acts on the caller's own rows only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Form, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import select

from grader.service.errors import NotFound, TooMany
from grader.service.store.models import ApiToken, User, UserSession, utcnow
from grader.service.store.users import MAX_TOKENS, add_token, revoke_token, rotate_token, tokens_of
from grader.service.web.responses import errors
from grader.service.web.routes.submissions_api import MAX_ID, utc
from grader.service.web.security import (
    Principal,
    current_user,
    end_sessions,
    optional_principal,
    session_of,
    sign_out,
    token_digest,
)
from grader.service.web.templating import page, to_sign_in

router = APIRouter(tags=["account"])
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]  # PostgreSQL integer: larger is a 422, not a 500
LABEL = r"^[^\x00-\x1f\x7f]*$"  # shown in a page: no control characters (nor NUL)


class TokenInfo(BaseModel):
    id: int
    label: str
    created: dt.datetime
    last_used: dt.datetime | None


class NewToken(TokenInfo):
    token: str  # shown this once: the server keeps only its sha256


class Ended(BaseModel):
    ended: int


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(id=row.id, label=row.label, created=utc(row.created),
                     last_used=None if row.last_used is None else utc(row.last_used))


def _new(request: Request, user: User, label: str) -> tuple[ApiToken, str]:
    made = add_token(request.app.state.db, user.id, label)
    if made is None:
        raise TooMany(f"at most {MAX_TOKENS} tokens: revoke one first")
    return made


def _rotated(request: Request, user: User, token_id: int) -> tuple[ApiToken, str]:
    made = rotate_token(request.app.state.db, user.id, token_id)
    if made is None:
        raise NotFound(f"no token {token_id} of yours")
    return made


def _account(request: Request, user: User, new: tuple[ApiToken, str] | None = None,
             status: int = 200) -> HTMLResponse:
    db = request.app.state.db
    since = utcnow() - dt.timedelta(seconds=request.app.state.sessions.max_age_s)
    with db.session() as s:
        sessions = list(s.scalars(select(UserSession).where(
            UserSession.user_id == user.id, UserSession.revoked.is_(None),
            UserSession.created > since).order_by(UserSession.id)))
    here = token_digest(session_of(request).sid)
    return page(request, "account.html", user, status=status, tokens=tokens_of(db, user.id),
                sessions=[(row, row.sha256 == here) for row in sessions],
                new=new, max_tokens=MAX_TOKENS)


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account_page(request: Request,
                 principal: Principal | None = Depends(optional_principal)) -> Response:
    if principal is None:
        return to_sign_in(request)
    return _account(request, principal.user)


@router.post("/account/sign-out-everywhere", include_in_schema=False)
def sign_out_everywhere_form(request: Request,
                             user: User = Depends(current_user)) -> RedirectResponse:
    end_sessions(request.app.state.db, user.id)
    sign_out(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/account/tokens", response_class=HTMLResponse, include_in_schema=False)
def add_token_form(request: Request, label: str = Form("", max_length=64, pattern=LABEL),
                   user: User = Depends(current_user)) -> HTMLResponse:
    """The new token is shown in this answer only (never in a URL or a redirect)."""
    return _account(request, user, new=_new(request, user, label))


@router.post("/account/tokens/{token_id}/rotate", response_class=HTMLResponse,
             include_in_schema=False)
def rotate_token_form(request: Request, token_id: TokenId,
                      user: User = Depends(current_user)) -> HTMLResponse:
    return _account(request, user, new=_rotated(request, user, token_id))


@router.post("/account/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_token_form(request: Request, token_id: TokenId,
                      user: User = Depends(current_user)) -> RedirectResponse:
    if not revoke_token(request.app.state.db, user.id, token_id):
        raise NotFound(f"no token {token_id} of yours")
    return RedirectResponse("/account", status_code=303)


@router.delete("/api/v1/me/sessions", response_model=Ended, responses=errors(401, 403, 503))
def sign_out_everywhere(request: Request, user: User = Depends(current_user)) -> Ended:
    """Ends every browser session of the caller's, this one too; API tokens stay valid."""
    ended = end_sessions(request.app.state.db, user.id)
    sign_out(request)
    return Ended(ended=ended)


@router.get("/api/v1/me/tokens", response_model=list[TokenInfo],
            responses=errors(401, 503))
def list_tokens(request: Request, user: User = Depends(current_user)) -> list[TokenInfo]:
    return [_info(row) for row in tokens_of(request.app.state.db, user.id)]


@router.post("/api/v1/me/tokens", response_model=NewToken, status_code=201,
             responses=errors(401, 403, 422, 429, 503))
def create_token(request: Request, user: User = Depends(current_user),
                 label: str = Body("", embed=True, max_length=64, pattern=LABEL)) -> NewToken:
    row, token = _new(request, user, label)
    return NewToken(**_info(row).model_dump(), token=token)


@router.post("/api/v1/me/tokens/{token_id}/rotate", response_model=NewToken,
             responses=errors(401, 403, 404, 422, 503))
def rotate(request: Request, token_id: TokenId, user: User = Depends(current_user)) -> NewToken:
    """A new secret for the token: the old one answers 401 from now on, on every server."""
    row, token = _rotated(request, user, token_id)
    return NewToken(**_info(row).model_dump(), token=token)


@router.delete("/api/v1/me/tokens/{token_id}", status_code=204, response_class=Response,
               responses=errors(401, 403, 404, 422, 503))
def revoke(request: Request, token_id: TokenId, user: User = Depends(current_user)) -> Response:
    if not revoke_token(request.app.state.db, user.id, token_id):
        raise NotFound(f"no token {token_id} of yours")
    return Response(status_code=204)
