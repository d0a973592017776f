"""Typed dependencies for the routes: what the app holds (database, settings, queue, streams,
cookie signer, hash gate), who is asking, and the ids a path may carry. A handler names what it
needs by type (`db: Db`, `user: CurrentUser`) instead of reaching into `request.app.state`.

`Db` is the service's `Database`, not one SQLAlchemy session per request: each handler opens
its sessions where it needs them, so that a submission is committed before the queue hears of
it, and a sign-in holds no database connection while it waits for a password hash."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request

from grader.service.grading.queue import Queue
from grader.service.settings import Settings
from grader.service.store.db import Database
from grader.service.store.models import MAX_ID, Role, User
from grader.service.store.passwords import HashGate
from grader.service.web.security.cookies import Sessions
from grader.service.web.security.principal import (
    Principal,
    current_user,
    optional_principal,
    require_role,
)
from grader.service.web.streams import Streams


def _held(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency giving what create_app put in app.state under `name`; its type is the
    Annotated alias's below."""
    async def held(request: Request) -> Any:
        return getattr(request.app.state, name)

    held.__name__ = f"app_{name}"
    return held


Db = Annotated[Database, Depends(_held("db"))]
AppSettings = Annotated[Settings, Depends(_held("settings"))]
WorkQueue = Annotated[Queue, Depends(_held("queue"))]
LiveStreams = Annotated[Streams, Depends(_held("streams"))]
CookieSigner = Annotated[Sessions, Depends(_held("sessions"))]
Gate = Annotated[HashGate, Depends(_held("hash_gate"))]

# Who is asking: anyone (None when signed out), a signed-in user (401 otherwise; a session's
# state-changing request must carry its CSRF token), or staff (instructors and admins: 403).
Visitor = Annotated[Principal | None, Depends(optional_principal)]
CurrentUser = Annotated[User, Depends(current_user)]
staff = require_role(Role.INSTRUCTOR, Role.ADMIN)
Staff = Annotated[User, Depends(staff)]

# Ids in a path: bounded by the database's integers, so a larger one is a 422, not a 500.
SubmissionId = Annotated[int, Path(ge=1, le=MAX_ID)]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]
