"""ASGI middleware and error handlers: a hard body cap, session cookies, every error as JSON."""

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
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grader.service.errors import ClientError
from grader.service.web.templating import Headers, adding_headers, error_page, wants_html

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


class BodyLimit:
    """No request body over `limit` bytes is read: a larger Content-Length is refused before
    reading, and a body without one (chunked) is cut off, and answered 413, at the limit.

    Past the limit the app is handed no more body, and never a made-up message either: the
    413 goes out at once (unless the app's own answer already started) and every later
    `receive` waits for the server's real one, which is `http.disconnect` once an answer is
    complete. (An empty body handed back at once, forever, made the disconnect listener of a
    file or streaming response spin with the event loop held: the whole server froze.)"""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Connection: close, so the client cannot go on sending the rest of its body.
        too_large = error(413, f"request body over {self.limit} bytes")
        too_large.headers["Connection"] = "close"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await error(400, "bad Content-Length")(scope, receive, send)
                return
            if declared > self.limit:
                await too_large(scope, receive, send)
                return
        seen = 0
        over = refused = started = False

        async def limited() -> Message:
            nonlocal seen, over, refused, started
            if not over:
                message = await receive()
                if message["type"] != "http.request":
                    return message
                seen += len(message.get("body", b""))
                if seen <= self.limit:
                    return message
                over = True
                if not started:  # the app's answer is not out yet: it is now the 413
                    started = refused = True
                    await too_large(scope, receive, send)
            while True:  # the body past the cap is dropped; the request's real end is awaited
                message = await receive()
                if message["type"] != "http.request":
                    return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:  # whatever the app made of a cut body, the answer was the 413
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except ClientDisconnect:
            if not refused:  # the app read on after our 413: its request is over, not broken
                raise


class SessionCookies:
    """Loads the signed session into request.state.session; sets the cookie when it changed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        sessions = scope["app"].state.sessions
        loaded = sessions.load(request)
        request.state.session = loaded

        def cookie() -> Headers:
            current = request.state.session
            if current is loaded and not (current.fresh and current.needed):
                return []
            probe = Response()
            sessions.save(probe, current, https=scope.get("scheme") == "https")
            return [(k, v) for k, v in probe.raw_headers if k == b"set-cookie"]

        await self.app(scope, receive, adding_headers(send, cookie))


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
