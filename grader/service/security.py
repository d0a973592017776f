"""Passwords, API tokens, signed session cookies, CSRF tokens and the who-is-asking dependencies."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select
from starlette.responses import Response

from grader.service.errors import Forbidden, Unauthorized
from grader.service.models import ApiToken, User, utcnow

SESSION_COOKIE = "jaxjudge_session"
CSRF_FIELD = "csrf_token"  # form field; JSON requests made by a signed-in page send X-CSRF-Token
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if hashed is None:
        _hasher.hash(password)  # same time whether or not the account exists
        return False
    return _hasher.verify(password, hashed)


def new_token() -> tuple[str, str]:
    """A fresh API token and the sha256 that the database keeps instead of it."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class SessionData:
    """What the signed cookie carries: a random session id (CSRF tokens are bound to it) and
    the signed-in user, if any. Anonymous visitors get one too, so a sign-in form has a token."""

    sid: str
    user_id: int | None = None
    fresh: bool = False  # not yet in a cookie
    needed: bool = False  # a CSRF token was handed out: the cookie must be set to match it

    @classmethod
    def new(cls, user_id: int | None = None) -> SessionData:
        return cls(secrets.token_urlsafe(18), user_id, fresh=True)


class Sessions:
    """Signs and checks cookies and CSRF tokens with the service's secret key."""

    def __init__(self, secret: str, max_age_s: int) -> None:
        self.cookies = URLSafeTimedSerializer(secret, salt="jaxjudge-session")
        self.csrf_key = hmac.new(secret.encode(), b"jaxjudge-csrf", hashlib.sha256).digest()
        self.max_age_s = max_age_s

    def load(self, request: Request) -> SessionData:
        raw = request.cookies.get(SESSION_COOKIE)
        if raw:
            try:
                data = self.cookies.loads(raw, max_age=self.max_age_s)
                if isinstance(data, dict) and isinstance(data.get("sid"), str):
                    uid = data.get("uid")
                    return SessionData(data["sid"], uid if isinstance(uid, int) else None)
            except BadSignature:
                pass  # forged, tampered or expired: a new anonymous session
        return SessionData.new()

    def save(self, response: Response, session: SessionData, https: bool = False) -> None:
        """`https`: the visitor came over HTTPS (directly, or as a proxy named in
        JAXJUDGE_TRUSTED_PROXIES says with X-Forwarded-Proto), so the cookie must never travel
        over plain HTTP."""
        value = self.cookies.dumps({"sid": session.sid, "uid": session.user_id})
        response.set_cookie(SESSION_COOKIE, value, max_age=self.max_age_s, httponly=True,
                            samesite="lax", secure=https, path="/")

    def csrf_token(self, session: SessionData) -> str:
        return hmac.new(self.csrf_key, session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: SessionData, token: str | None) -> bool:
        # As bytes: compare_digest raises TypeError on a str with non-ASCII characters.
        given = str(token).encode("utf-8", "surrogatepass")
        return bool(token) and hmac.compare_digest(self.csrf_token(session).encode(), given)


def issue_csrf(request: Request) -> str:
    """The CSRF token to embed in a form or page; it holds for this session (cookie) only."""
    session = session_of(request)
    session.needed = True
    token: str = request.app.state.sessions.csrf_token(session)
    return token


def session_of(request: Request) -> SessionData:
    """The request's session, which the session middleware loaded (and saves when fresh)."""
    session: SessionData = request.state.session
    return session


def sign_in(request: Request, user: User) -> None:
    """A new session id at sign-in: a session fixed by someone else before it is worthless."""
    request.state.session = SessionData.new(user.id)


def sign_out(request: Request) -> None:
    request.state.session = SessionData.new()


@dataclass
class Principal:
    user: User
    via: str  # "token" or "session": a session's state-changing requests need a CSRF token


async def optional_principal(request: Request) -> Principal | None:
    """The user behind a Bearer token or the session cookie; a bad token is a 401."""
    db = request.app.state.db
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        with db.session() as s:
            row = s.scalar(select(ApiToken).where(ApiToken.sha256 == token_digest(token.strip())))
            if row is None:
                raise Unauthorized("unknown or revoked API token")
            row.last_used = utcnow()
            user = s.get(User, row.user_id)
        if user is None:
            raise Unauthorized("unknown or revoked API token")
        return Principal(user, "token")
    session = session_of(request)
    if session.user_id is None:
        return None
    with db.session() as s:
        user = s.get(User, session.user_id)
    return None if user is None else Principal(user, "session")


async def check_csrf(request: Request) -> None:
    """Every state-changing request carried by the cookie must show the session's CSRF token:
    in the X-CSRF-Token header or, for a form, the csrf_token field."""
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        token = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    if not request.app.state.sessions.csrf_ok(session_of(request), token):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again")


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
