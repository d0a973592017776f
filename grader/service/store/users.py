"""Accounts: create one (idempotently for demo accounts), hand out, rotate and revoke its API
tokens (the database keeps only their sha256), end its browser sessions."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import delete, func, select, update

from grader.errors import JudgeError
from grader.service.store.db import Database
from grader.service.store.models import ApiToken, Role, User, utcnow
from grader.service.store.passwords import hash_password
from grader.service.store.sessions import end_sessions
from grader.service.store.tokens import new_token

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # shown in pages and CSV: plain characters only
MAX_TOKENS = 20  # per user: each is a row, and a credential to keep track of


def create_user(db: Database, name: str, role: str, password: str | None = None,
                exist_ok: bool = False) -> tuple[User, str, str]:
    """The user, a new API token (shown once, stored as its sha256) and the password (made up
    when none is given). With exist_ok an existing user gets its password reset and a token."""
    if not NAME.match(name):
        raise JudgeError(f"user name {name!r}: 1-64 of letters, digits, '_', '.', '-'")
    if role not in tuple(Role):
        raise JudgeError(f"role {role!r}: one of {', '.join(Role)}")
    while not password:  # made up: never with a leading "-", so it passes as --password X
        password = secrets.token_urlsafe(9).lstrip("-")
    token, digest = new_token()
    with db.session() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is not None and not exist_ok:
            raise JudgeError(f"user {name!r} exists already")
        if user is None:
            user = User(name=name, role=role)
            s.add(user)
        reset = user.password_hash is not None
        user.role = role
        user.password_hash = hash_password(password)
        s.flush()
        s.add(ApiToken(user_id=user.id, sha256=digest, label="created"))
    if reset:  # a new password ends the sessions that the old one opened
        end_sessions(db, user.id)
    return user, token, password


def find_user(db: Database, name: str) -> User:
    with db.session() as s:
        user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise JudgeError(f"no user {name!r}")
    return user


def tokens_of(db: Database, user_id: int) -> list[ApiToken]:
    with db.session() as s:
        return list(s.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                              .order_by(ApiToken.id)))


def add_token(db: Database, user_id: int, label: str) -> tuple[ApiToken, str] | None:
    """A new token (shown once), or None when the user has MAX_TOKENS already."""
    token, digest = new_token()
    with db.session() as s:
        if (s.scalar(select(func.count()).where(ApiToken.user_id == user_id)) or 0) >= MAX_TOKENS:
            return None
        row = ApiToken(user_id=user_id, sha256=digest, label=label[:64])
        s.add(row)
        s.flush()
    return row, token


def rotate_token(db: Database, user_id: int, token_id: int) -> tuple[ApiToken, str] | None:
    """The token's replacement (same id and label); the old one fails from this moment on,
    on every server: its sha256 is overwritten in one UPDATE. None: no such token of theirs."""
    token, digest = new_token()
    with db.session() as s:
        done = s.execute(update(ApiToken)
                         .where(ApiToken.id == token_id, ApiToken.user_id == user_id)
                         .values(sha256=digest, created=utcnow(), last_used=None))
        if not getattr(done, "rowcount", 0):
            return None
        row = s.get(ApiToken, token_id)
    return (row, token) if row is not None else None


def revoke_token(db: Database, user_id: int, token_id: int | None = None) -> int:
    """Deletes one of the user's tokens (or, with None, all of them); how many went."""
    where = [ApiToken.user_id == user_id]
    if token_id is not None:
        where.append(ApiToken.id == token_id)
    with db.session() as s:
        return int(getattr(s.execute(delete(ApiToken).where(*where)), "rowcount", 0) or 0)
