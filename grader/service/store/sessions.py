"""Browser sessions in the database: the signed cookie names one, its row decides whether it
still holds, so that signing out (here, everywhere, by an admin) ends it on every server."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, select, update

from grader.service.store.db import Database
from grader.service.store.models import User, UserSession, utcnow
from grader.service.store.tokens import SEEN_EVERY, token_digest

MAX_SESSIONS = 50  # signed-in browsers per user; signing in on one more ends the oldest


def open_session(db: Database, user_id: int, sid: str, max_age_s: float) -> None:
    """Keeps the new session id's sha256 (never the id itself)."""
    now = utcnow()
    expired = now - dt.timedelta(seconds=max_age_s)
    with db.session() as s:
        # A missing row is as dead as a revoked one: ended and expired rows go, and past
        # MAX_SESSIONS signed-in browsers the oldest one ends (the table stays bounded).
        s.execute(delete(UserSession).where(
            UserSession.user_id == user_id,
            or_(UserSession.created < expired, UserSession.revoked.is_not(None))))
        oldest = list(s.scalars(select(UserSession.id).where(UserSession.user_id == user_id)
                                .order_by(UserSession.id.desc()).offset(MAX_SESSIONS - 1)))
        if oldest:
            s.execute(delete(UserSession).where(UserSession.id.in_(oldest)))
        s.add(UserSession(user_id=user_id, sha256=token_digest(sid), created=now,
                          last_seen=now))


def session_user(db: Database, sid: str, user_id: int, max_age_s: float) -> User | None:
    """The user of a live session (None: signed out, expired, or the account is gone)."""
    now = utcnow()
    expired = now - dt.timedelta(seconds=max_age_s)
    with db.session() as s:
        row = s.scalar(select(UserSession).where(UserSession.sha256 == token_digest(sid)))
        if (row is None or row.user_id != user_id or row.revoked is not None
                or row.created <= expired):
            return None
        user = s.get(User, row.user_id)
        if now - row.last_seen > SEEN_EVERY:
            row.last_seen = now
        return user


def live_sessions(db: Database, user_id: int, max_age_s: float) -> list[UserSession]:
    since = utcnow() - dt.timedelta(seconds=max_age_s)
    with db.session() as s:
        return list(s.scalars(select(UserSession).where(
            UserSession.user_id == user_id, UserSession.revoked.is_(None),
            UserSession.created > since).order_by(UserSession.id)))


def end_session(db: Database, sid: str) -> None:
    """Ends one session (a copy of its cookie kept elsewhere dies too)."""
    with db.session() as s:
        s.execute(update(UserSession)
                  .where(UserSession.sha256 == token_digest(sid), UserSession.revoked.is_(None))
                  .values(revoked=utcnow()))


def end_sessions(db: Database, user_id: int) -> int:
    """Signs a user out everywhere: every browser session of theirs ends; how many did."""
    with db.session() as s:
        result = s.execute(update(UserSession)
                           .where(UserSession.user_id == user_id, UserSession.revoked.is_(None))
                           .values(revoked=utcnow()))
        return int(getattr(result, "rowcount", 0) or 0)
