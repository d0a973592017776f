"""API tokens: a fresh one, the sha256 the database keeps instead of it, and the user behind
one a client sends."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select

from grader.service.store.db import Database
from grader.service.store.models import ApiToken, User, utcnow

# How often at most a token's last_used (and a session's last_seen) is written.
SEEN_EVERY = dt.timedelta(seconds=60)


# A token's first characters: never "-" (a random token_urlsafe begins with one 1 time in 64,
# and `jaxjudge submit --token -abc` is then a usage error), and recognisable in a leaked file.
TOKEN_PREFIX = "jj_"


def new_token() -> tuple[str, str]:
    """A fresh API token and the sha256 that the database keeps instead of it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_user(db: Database, token: str) -> User | None:
    """The user whose API token this is (None: unknown or revoked); notes its use."""
    with db.session() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.sha256 == token_digest(token)))
        if row is None:
            return None
        now = utcnow()
        if row.last_used is None or now - row.last_used > SEEN_EVERY:
            row.last_used = now  # as a session's last_seen: not a write per API call
        return s.get(User, row.user_id)
