"""Accounts: create one (idempotently for demo accounts) and hand out its API token."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select

from grader.errors import JudgeError
from grader.service.db import Database
from grader.service.models import ApiToken, Role, User
from grader.service.security import hash_password, new_token

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # shown in pages and CSV: plain characters only


def create_user(db: Database, name: str, role: str, password: str | None = None,
                exist_ok: bool = False) -> tuple[User, str, str]:
    """The user, a new API token (shown once, stored as its sha256) and the password (made up
    when none is given). With exist_ok an existing user gets its password reset and a token."""
    if not NAME.match(name):
        raise JudgeError(f"user name {name!r}: 1-64 of letters, digits, '_', '.', '-'")
    if role not in tuple(Role):
        raise JudgeError(f"role {role!r}: one of {', '.join(Role)}")
    password = password or secrets.token_urlsafe(9)
    token, digest = new_token()
    with db.session() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is not None and not exist_ok:
            raise JudgeError(f"user {name!r} exists already")
        if user is None:
            user = User(name=name, role=role)
            s.add(user)
        user.role = role
        user.password_hash = hash_password(password)
        s.flush()
        s.add(ApiToken(user_id=user.id, sha256=digest))
    return user, token, password
