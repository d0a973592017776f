"""CSRF tokens: an HMAC of the session id under the service's secret, handed to each page and
checked on every state-changing request that a session cookie carries."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from grader.service.errors import Forbidden
from grader.service.web.security.cookies import SessionData, session_of

CSRF_FIELD = "csrf_token"  # form field; JSON requests made by a signed-in page send X-CSRF-Token
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class CsrfTokens:
    def __init__(self, secret: str) -> None:
        self.key = hmac.new(secret.encode(), b"jaxjudge-csrf", hashlib.sha256).digest()

    def token(self, session: SessionData) -> str:
        return hmac.new(self.key, session.sid.encode(), hashlib.sha256).hexdigest()

    def ok(self, session: SessionData, token: str | None) -> bool:
        # As bytes: compare_digest raises TypeError on a str with non-ASCII characters.
        given = str(token).encode("utf-8", "surrogatepass")
        return bool(token) and hmac.compare_digest(self.token(session).encode(), given)


def issue_csrf(request: Request) -> str:
    """The CSRF token to embed in a form or page; it holds for this session (cookie) only."""
    session = session_of(request)
    session.needed = True
    token: str = request.app.state.csrf.token(session)
    return token


async def check_csrf(request: Request) -> None:
    """Every state-changing request carried by the cookie must show the session's CSRF token:
    in the X-CSRF-Token header or, for a form, the csrf_token field."""
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        token = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    if not request.app.state.csrf.ok(session_of(request), token):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again")
