"""Errors as answers: every error a client can cause is a 4xx {"error": ...} (a page for a
browser that asked for one), a database that is away a 503 with Retry-After, anything else a
500 without a traceback (the log has it)."""

from __future__ import annotations

import json
import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response

from grader.service.errors import ClientError
from grader.service.web.templating import error_page, wants_html

log = logging.getLogger("jaxjudge.app")
RETRY_S = 5  # Retry-After while the database is out: a restart or failover takes seconds


def error(status: int, message: str, retry_after: int | None = None) -> JSONResponse:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def answer(request: Request, status: int, message: str,
           retry_after: int | None = None) -> Response:
    """JSON for the API and scripts; a page for a browser that asked for one."""
    if wants_html(request):
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return error_page(request, status, message, headers)
    return error(status, message, retry_after)



def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else e.get("msg", "invalid"))
    return "; ".join(parts) or "invalid request"


def allowed_methods(request: Request) -> str | None:
    """Every method the schema lists at this path (HEAD with GET), or None for a path it does
    not list. Starlette's 405 names only the first route that matched the path, and a path may
    have several (GET and POST submissions)."""
    for template, operations in request.app.openapi()["paths"].items():
        pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{[^}/]+\})", template))
        if re.fullmatch(pattern, request.url.path):
            methods = {m.upper() for m in operations}
            return ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Every error a client can cause is a 4xx {"error": ...}; anything else a 500 without a
    traceback (the log has it)."""

    @app.exception_handler(ClientError)
    async def client_error(request: Request, exc: ClientError) -> Response:
        return answer(request, exc.status, exc.message, exc.retry_after)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error(400, "malformed JSON body")
        return answer(request, 422, _validation_message(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        response = answer(request, exc.status_code, detail)
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        allow = allowed_methods(request) if exc.status_code == 405 else None
        if allow is not None:
            response.headers["Allow"] = allow
        return response

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def busy(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return error(503, "the database is unavailable; try again", retry_after=RETRY_S)

    @app.exception_handler(DBAPIError)
    async def dropped(request: Request, exc: DBAPIError) -> JSONResponse:
        # A connection the server closed under us (InterfaceError and kin): the pool has
        # dropped it, so the client's retry gets a fresh one.
        if exc.connection_invalidated or isinstance(exc, InterfaceError):
            return await busy(request, exc)
        log.error("database error", exc_info=exc)
        return error(500, "internal error")

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.error("internal error", exc_info=exc)
        return answer(request, 500, "internal error")
