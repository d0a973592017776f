"""One's own account: browser sessions (sign out everywhere) and API tokens (add, rotate,
revoke), as a page with forms and as API calls. Each acts on the caller's own rows only."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Body, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from grader.service.errors import NotFound, TooMany
from grader.service.store.db import Database
from grader.service.store.models import ApiToken, User
from grader.service.store.sessions import end_sessions, live_sessions
from grader.service.store.tokens import token_digest
from grader.service.store.users import (
    MAX_TOKENS,
    add_token,
    revoke_token,
    rotate_token,
    tokens_of,
)
from grader.service.web.deps import CookieSigner, CurrentUser, Db, TokenId, Visitor
from grader.service.web.responses import errors
from grader.service.web.schemas import utc
from grader.service.web.security.cookies import session_of
from grader.service.web.security.principal import sign_out
from grader.service.web.templating import page, to_sign_in

router = APIRouter(tags=["account"])
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


def _new(db: Database, user: User, label: str) -> tuple[ApiToken, str]:
    made = add_token(db, user.id, label)
    if made is None:
        raise TooMany(f"at most {MAX_TOKENS} tokens: revoke one first")
    return made


def _rotated(db: Database, user: User, token_id: int) -> tuple[ApiToken, str]:
    made = rotate_token(db, user.id, token_id)
    if made is None:
        raise NotFound(f"no token {token_id} of yours")
    return made


def _account(request: Request, db: Database, cookies: CookieSigner, user: User,
             new: tuple[ApiToken, str] | None = None, status: int = 200) -> HTMLResponse:
    sessions = live_sessions(db, user.id, cookies.max_age_s)
    here = token_digest(session_of(request).sid)
    return page(request, "account.html", user, status=status, tokens=tokens_of(db, user.id),
                sessions=[(row, row.sha256 == here) for row in sessions],
                new=new, max_tokens=MAX_TOKENS)


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account_page(request: Request, principal: Visitor, db: Db,
                 cookies: CookieSigner) -> Response:
    if principal is None:
        return to_sign_in(request)
    return _account(request, db, cookies, principal.user)


@router.post("/account/sign-out-everywhere", include_in_schema=False)
def sign_out_everywhere_form(request: Request, user: CurrentUser, db: Db) -> RedirectResponse:
    end_sessions(db, user.id)
    sign_out(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/account/tokens", response_class=HTMLResponse, include_in_schema=False)
def add_token_form(request: Request, user: CurrentUser, db: Db, cookies: CookieSigner,
                   label: str = Form("", max_length=64, pattern=LABEL)) -> HTMLResponse:
    """The new token is shown in this answer only (never in a URL or a redirect)."""
    return _account(request, db, cookies, user, new=_new(db, user, label))


@router.post("/account/tokens/{token_id}/rotate", response_class=HTMLResponse,
             include_in_schema=False)
def rotate_token_form(request: Request, token_id: TokenId, user: CurrentUser, db: Db,
                      cookies: CookieSigner) -> HTMLResponse:
    return _account(request, db, cookies, user, new=_rotated(db, user, token_id))


@router.post("/account/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_token_form(token_id: TokenId, user: CurrentUser, db: Db) -> RedirectResponse:
    if not revoke_token(db, user.id, token_id):
        raise NotFound(f"no token {token_id} of yours")
    return RedirectResponse("/account", status_code=303)


@router.delete("/api/v1/me/sessions", response_model=Ended, responses=errors(401, 403, 503))
def sign_out_everywhere(request: Request, user: CurrentUser, db: Db) -> Ended:
    """Ends every browser session of the caller's, this one too; API tokens stay valid."""
    ended = end_sessions(db, user.id)
    sign_out(request)
    return Ended(ended=ended)


@router.get("/api/v1/me/tokens", response_model=list[TokenInfo],
            responses=errors(401, 503))
def list_tokens(user: CurrentUser, db: Db) -> list[TokenInfo]:
    return [_info(row) for row in tokens_of(db, user.id)]


@router.post("/api/v1/me/tokens", response_model=NewToken, status_code=201,
             responses=errors(401, 403, 422, 429, 503))
def create_token(user: CurrentUser, db: Db,
                 label: str = Body("", embed=True, max_length=64, pattern=LABEL)) -> NewToken:
    row, token = _new(db, user, label)
    return NewToken(**_info(row).model_dump(), token=token)


@router.post("/api/v1/me/tokens/{token_id}/rotate", response_model=NewToken,
             responses=errors(401, 403, 404, 422, 503))
def rotate(token_id: TokenId, user: CurrentUser, db: Db) -> NewToken:
    """A new secret for the token: the old one answers 401 from now on, on every server."""
    row, token = _rotated(db, user, token_id)
    return NewToken(**_info(row).model_dump(), token=token)


@router.delete("/api/v1/me/tokens/{token_id}", status_code=204, response_class=Response,
               responses=errors(401, 403, 404, 422, 503))
def revoke(token_id: TokenId, user: CurrentUser, db: Db) -> Response:
    if not revoke_token(db, user.id, token_id):
        raise NotFound(f"no token {token_id} of yours")
    return Response(status_code=204)
