"""Operations: liveness, readiness (database and queue reachable) and Prometheus metrics."""

from __future__ import annotations

import ipaddress
import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text

from grader.service.errors import Forbidden
from grader.service.grading.queue import Queue
from grader.service.settings import Settings
from grader.service.store.db import Database
from grader.service.store.models import Role
from grader.service.web import metrics
from grader.service.web.deps import AppSettings, Db, LiveStreams, WorkQueue
from grader.service.web.responses import errors
from grader.service.web.security.principal import optional_principal
from grader.service.web.streams import Streams

router = APIRouter(tags=["operations"])
log = logging.getLogger("jaxjudge.ops")
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


@router.get("/healthz", responses=errors(html=True))
def healthz() -> dict[str, str]:
    """The process is up and serving (says nothing of the database: see /readyz)."""
    return {"status": "ok"}


def _probe(db: Database, queue: Queue) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        queue.pending()
        checks["queue"] = "ok"
    except Exception as exc:
        checks["queue"] = f"unreachable: {type(exc).__name__}"
    return checks


@router.get("/readyz", responses=errors(503, html=True))
async def readyz(db: Db, queue: WorkQueue) -> JSONResponse:
    """200 when the database and the queue both answer; else 503 saying which did not."""
    checks = await run_in_threadpool(_probe, db, queue)
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ok" if ok else "unavailable", "checks": checks}
    if not ok:
        body["error"] = "not ready: " + ", ".join(k for k, v in checks.items() if v != "ok")
    return JSONResponse(body, status_code=200 if ok else 503,
                        headers={} if ok else {"Retry-After": "5"})


async def _may_read_metrics(request: Request) -> None:
    """A scraper on this host, straight (not through a proxy on this host, which would make
    every visitor look local), or anyone with an admin's API token."""
    host = request.client.host if request.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if local and not any(h in request.headers for h in PROXY_HEADERS):
        return
    principal = await optional_principal(request)
    if principal is None or principal.user.role != Role.ADMIN:
        raise Forbidden("metrics: from this host, or with an admin's API token")


def _render(db: Database, queue: Queue, settings: Settings, streams: Streams) -> str:
    try:
        depth: int | None = queue.pending()
    except Exception:  # Redis away: the rest still describes the service
        depth = None
    statements = db.statements  # before this scrape's own queries
    with db.session() as s:
        body = metrics.render(s, depth, settings.max_attempts)
    return body + metrics.process(statements, streams)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
                       **errors(403, 503, html=True)})
async def prometheus(request: Request, db: Db, queue: WorkQueue, settings: AppSettings,
                     streams: LiveStreams) -> PlainTextResponse:
    """Prometheus text format: queue depth, submissions by status, verdicts, graders alive,
    latency histograms. Readable from loopback, or with an admin's token."""
    await _may_read_metrics(request)
    body = await run_in_threadpool(_render, db, queue, settings, streams)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")
