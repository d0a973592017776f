"""Passwords, API tokens, signed session cookies, CSRF tokens and the who-is-asking dependencies."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import delete, or_, select, update
from starlette.responses import Response

from grader.service.errors import Forbidden, Unauthorized
from grader.service.store.db import Database
from grader.service.store.models import ApiToken, User, UserSession, utcnow

SESSION_COOKIE = "jaxjudge_session"
CSRF_FIELD = "csrf_token"  # form field; JSON requests made by a signed-in page send X-CSRF-Token
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# How often at most a session's last_seen and a token's last_used are written.
SEEN_EVERY = dt.timedelta(seconds=60)
MAX_SESSIONS = 50  # signed-in browsers per user; signing in on one more ends the oldest

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class Busy(Exception):
    """Too many password hashes running and waiting in this process: try again shortly."""


class HashGate:
    """Bounds the password hashes (Argon2: 64 MiB each) a process computes at once, and how
    many sign-ins may wait for one: a flood of sign-ins costs at most `running` x 64 MiB and
    `running + waiting` threads; the rest are refused at once (`Busy`) instead of queueing."""

    def __init__(self, running: int, waiting: int, wait_s: float) -> None:
        self.slots = threading.BoundedSemaphore(max(1, running))
        self.admit = max(1, running) + max(0, waiting)
        self.wait_s = wait_s
        self.lock = threading.Lock()
        self.inside = 0  # running and waiting

    def verify(self, password: str, hashed: str | None) -> bool:
        with self.lock:
            if self.inside >= self.admit:
                raise Busy
            self.inside += 1
        try:
            if not self.slots.acquire(timeout=self.wait_s):
                raise Busy
            try:
                return verify_password(password, hashed)
            finally:
                self.slots.release()
        finally:
            with self.lock:
                self.inside -= 1


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
    """A new session id at sign-in: a session fixed by someone else before it is worthless.
    The database keeps the id's sha256: the cookie holds only while that row is not revoked."""
    session = SessionData.new(user.id)
    now = utcnow()
    expired = now - dt.timedelta(seconds=request.app.state.sessions.max_age_s)
    with request.app.state.db.session() as s:
        # A missing row is as dead as a revoked one: ended and expired rows go, and past
        # MAX_SESSIONS signed-in browsers the oldest one ends (the table stays bounded).
        s.execute(delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.created < expired, UserSession.revoked.is_not(None))))
        oldest = list(s.scalars(select(UserSession.id).where(UserSession.user_id == user.id)
                                .order_by(UserSession.id.desc()).offset(MAX_SESSIONS - 1)))
        if oldest:
            s.execute(delete(UserSession).where(UserSession.id.in_(oldest)))
        s.add(UserSession(user_id=user.id, sha256=token_digest(session.sid), created=now,
                          last_seen=now))
    request.state.session = session


def sign_out(request: Request) -> None:
    """Ends this session in the database (a copy of the cookie kept elsewhere dies too)."""
    session = session_of(request)
    if session.user_id is not None:
        with request.app.state.db.session() as s:
            s.execute(update(UserSession)
                      .where(UserSession.sha256 == token_digest(session.sid),
                             UserSession.revoked.is_(None))
                      .values(revoked=utcnow()))
    request.state.session = SessionData.new()


def end_sessions(db: Database, user_id: int) -> int:
    """Signs a user out everywhere: every browser session of theirs ends; how many did."""
    with db.session() as s:
        result = s.execute(update(UserSession)
                           .where(UserSession.user_id == user_id, UserSession.revoked.is_(None))
                           .values(revoked=utcnow()))
        return int(getattr(result, "rowcount", 0) or 0)


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
            now = utcnow()
            if row.last_used is None or now - row.last_used > SEEN_EVERY:
                row.last_used = now  # as a session's last_seen: not a write per API call
            user = s.get(User, row.user_id)
        if user is None:
            raise Unauthorized("unknown or revoked API token")
        return Principal(user, "token")
    session = session_of(request)
    if session.user_id is None:
        return None
    now = utcnow()
    expired = now - dt.timedelta(seconds=request.app.state.sessions.max_age_s)
    user = None
    with db.session() as s:
        row = s.scalar(select(UserSession).where(UserSession.sha256 == token_digest(session.sid)))
        if (row is not None and row.user_id == session.user_id and row.revoked is None
                and row.created > expired):
            user = s.get(User, row.user_id)
            if now - row.last_seen > SEEN_EVERY:
                row.last_seen = now
    if user is None:  # signed out (here or everywhere), expired, or the account is gone
        request.state.session = SessionData.new()
        return None
    return Principal(user, "session")


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
