"""Typed dependencies for the routes: what the app holds (database, settings, queue, streams,
cookie signer, hash gate), who is asking, and the ids a path may carry. A handler names what it
needs by type (`db: Db`, `user: CurrentUser`) instead of reaching into `request.app.state`.

`Db` is the service's `Database`, not one SQLAlchemy session per request: each handler opens
its sessions where it needs them, so that a submission is committed before the queue hears of
it, and a sign-in holds no database connection while it waits for a password hash."""

from __future__ import annotations

from typing import Annotated

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


async def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _queue(request: Request) -> Queue:
    queue: Queue = request.app.state.queue
    return queue


async def _streams(request: Request) -> Streams:
    streams: Streams = request.app.state.streams
    return streams


async def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


async def _hash_gate(request: Request) -> HashGate:
    gate: HashGate = request.app.state.hash_gate
    return gate


Db = Annotated[Database, Depends(_db)]
AppSettings = Annotated[Settings, Depends(_settings)]
WorkQueue = Annotated[Queue, Depends(_queue)]
LiveStreams = Annotated[Streams, Depends(_streams)]
CookieSigner = Annotated[Sessions, Depends(_sessions)]
Gate = Annotated[HashGate, Depends(_hash_gate)]

# Who is asking: anyone (None when signed out), a signed-in user (401 otherwise; a session's
# state-changing request must carry its CSRF token), or staff (instructors and admins: 403).
Visitor = Annotated[Principal | None, Depends(optional_principal)]
CurrentUser = Annotated[User, Depends(current_user)]
staff = require_role(Role.INSTRUCTOR, Role.ADMIN)
Staff = Annotated[User, Depends(staff)]

# Ids in a path: bounded by the database's integers, so a larger one is a 422, not a 500.
SubmissionId = Annotated[int, Path(ge=1, le=MAX_ID)]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]
