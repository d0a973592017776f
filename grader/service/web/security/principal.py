"""Who is asking: the user behind a Bearer token or the session cookie, the dependencies that
require one (and a role), and signing a browser in and out."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from grader.service.errors import Forbidden, Unauthorized
from grader.service.store.db import Database
from grader.service.store.models import User
from grader.service.store.sessions import end_session, open_session, session_user
from grader.service.store.tokens import token_user
from grader.service.web.security.cookies import SessionData, session_of
from grader.service.web.security.csrf import check_csrf


@dataclass
class Principal:
    user: User
    via: str  # "token" or "session": a session's state-changing requests need a CSRF token


async def optional_principal(request: Request) -> Principal | None:
    """The user behind a Bearer token or the session cookie; a bad token is a 401."""
    db: Database = request.app.state.db
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        user = token_user(db, token.strip())
        if user is None:
            raise Unauthorized("unknown or revoked API token")
        return Principal(user, "token")
    session = session_of(request)
    if session.user_id is None:
        return None
    user = session_user(db, session.sid, session.user_id, request.app.state.sessions.max_age_s)
    if user is None:  # signed out (here or everywhere), expired, or the account is gone
        request.state.session = SessionData.new()
        return None
    return Principal(user, "session")


async def current_user(request: Request,
                       principal: Principal | None = Depends(optional_principal)) -> User:
    if principal is None:
        raise Unauthorized("sign in, or send 'Authorization: Bearer <token>'")
    if principal.via == "session":
        await check_csrf(request)
    return principal.user


def require_role(*roles: str) -> Callable[..., Coroutine[Any, Any, User]]:
    """A dependency: the current user, when their role is one of `roles` (else 403)."""

    async def dependency(user: User = Depends(current_user)) -> User:
        if user.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}")
        return user

    return dependency


def sign_in(request: Request, user: User) -> None:
    """A new session id at sign-in: a session fixed by someone else before it is worthless.
    The database keeps the id's sha256: the cookie holds only while that row is not revoked."""
    session = SessionData.new(user.id)
    open_session(request.app.state.db, user.id, session.sid,
                 request.app.state.sessions.max_age_s)
    request.state.session = session


def sign_out(request: Request) -> None:
    """Ends this session in the database (a copy of the cookie kept elsewhere dies too)."""
    session = session_of(request)
    if session.user_id is not None:
        end_session(request.app.state.db, session.sid)
    request.state.session = SessionData.new()
