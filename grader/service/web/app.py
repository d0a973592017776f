"""The FastAPI application factory: settings, database, queue, sessions, errors as JSON."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from grader.service.grading.queue import Queue
from grader.service.grading.workers import Workers
from grader.service.settings import Settings
from grader.service.store.db import Database
from grader.service.store.passwords import HashGate
from grader.service.web.handlers import install_error_handlers
from grader.service.web.middleware import BodyLimit, SecurityHeaders, SessionCookies
from grader.service.web.routes import (
    account,
    apidocs,
    events,
    instructor_api,
    instructor_pages,
    learner_pages,
    ops,
    problems_api,
    session,
    submission_page,
    submissions_api,
)
from grader.service.web.security.cookies import Sessions
from grader.service.web.security.csrf import CsrfTokens
from grader.service.web.streams import Streams
from grader.service.web.templating import STATIC

log = logging.getLogger("jaxjudge.app")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole service; with `settings.jobs` > 0 it grades too (a consumer beside uvicorn)."""
    settings = settings or Settings()
    settings.prepare()
    db = Database(settings.database_url())
    db.migrate()
    workers = Workers(settings, db) if settings.jobs > 0 else None
    streams = Streams(settings, db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if workers is not None:
            workers.start()
        yield
        await streams.stop()
        if workers is not None:
            workers.stop()

    # FastAPI's own /docs load Swagger UI from a CDN with inline script: ours (apidocs) do not.
    app = FastAPI(title="jaxjudge", version="1", lifespan=lifespan,
                  description="An online judge for JAX numerical exercises.",
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None)
    app.state.settings = settings
    app.state.db = db
    app.state.streams = streams
    app.state.queue = workers.queue if workers else Queue(settings.queue_url())
    secret = settings.secret()
    app.state.sessions = Sessions(secret, settings.session_days * 86400)
    app.state.csrf = CsrfTokens(secret)
    app.state.hash_gate = HashGate(settings.hash_concurrency, settings.hash_waiting,
                                   settings.hash_wait_s)
    install_error_handlers(app)
    # Outermost first: the body cap holds before anything reads a byte.
    app.add_middleware(SessionCookies)
    app.add_middleware(BodyLimit, limit=settings.source_cap * 6 + 16 * 1024)
    app.add_middleware(SecurityHeaders)  # outermost: on every answer, refusals included
    for module in (problems_api, submissions_api, events, instructor_api, session, ops,
                   learner_pages, submission_page, instructor_pages, apidocs, account):
        app.include_router(module.router)
    app.mount(apidocs.ASSETS_URL, StaticFiles(directory=apidocs.ASSETS), name="docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
