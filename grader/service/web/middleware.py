"""The ASGI middleware, outermost first: security headers on every answer, a hard body cap,
and the signed session cookie."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grader.service.web.handlers import error

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Only the site's own files may be kept by a browser or proxy: every other answer may hold
# source code, a report, a token or a name.
CACHEABLE = "/static/"


Headers = list[tuple[bytes, bytes]]


def adding_headers(send: Send, headers: Callable[[], Headers]) -> Send:
    """`send`, with what `headers()` says (then) appended to the response's start."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *headers()]
        await send(message)

    return wrapped


class SecurityHeaders:
    """A strict Content-Security-Policy (no inline script) and the usual hardening headers on
    every answer; Cache-Control: no-store on all but the site's static files, unless the
    answer says otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra: Headers = [(b"x-content-type-options", b"nosniff"),
                          (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin"),
                          (b"content-security-policy", CSP.encode())]
        cacheable = str(scope.get("path", "")).startswith(CACHEABLE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *extra]
                if not cacheable and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


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


