"""The signed session cookie: a random session id (CSRF tokens are bound to it) and the
signed-in user, if any, loaded into request.state.session by the SessionCookies middleware."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

SESSION_COOKIE = "jaxjudge_session"


@dataclass
class SessionData:
    """What the signed cookie carries. Anonymous visitors get one too, so a sign-in form has a
    CSRF token."""

    sid: str
    user_id: int | None = None
    fresh: bool = False  # not yet in a cookie
    needed: bool = False  # a CSRF token was handed out: the cookie must be set to match it

    @classmethod
    def new(cls, user_id: int | None = None) -> SessionData:
        return cls(secrets.token_urlsafe(18), user_id, fresh=True)


class Sessions:
    """Signs and checks session cookies with the service's secret key."""

    def __init__(self, secret: str, max_age_s: int) -> None:
        self.cookies = URLSafeTimedSerializer(secret, salt="jaxjudge-session")
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


def session_of(request: Request) -> SessionData:
    """The request's session, which the session middleware loaded (and saves when fresh)."""
    session: SessionData = request.state.session
    return session
