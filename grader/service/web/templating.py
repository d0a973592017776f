"""Pages' plumbing: autoescaped Jinja2 templates, security headers, errors as HTML for browsers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grader.model.report import value_text
from grader.service.store.models import User
from grader.service.web.security import Principal, issue_csrf

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"

# Autoescape everywhere, not only for *.html: every value from the database is learner text.
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
templates = Jinja2Templates(env=_env)

# Statements are staff-written Markdown, and still raw HTML in them is escaped, not passed on.
_markdown = MarkdownIt("commonmark", {"html": False})

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Only the site's own files may be kept by a browser or proxy: every other answer may hold
# source code, a report, a token or a name.
CACHEABLE = "/static/"


_env.globals["value_text"] = value_text


def markdown(text: str) -> Markup:
    return Markup(_markdown.render(text))  # html=False: raw HTML in it comes out escaped


def page(request: Request, template: str, principal: Principal | User | None,
         status: int = 200, **context: Any) -> HTMLResponse:
    """A template with the reader and the CSRF token its forms (sign-out too) must carry."""
    user = principal.user if isinstance(principal, Principal) else principal
    return templates.TemplateResponse(
        request, template, {"me": user, "csrf_token": issue_csrf(request), **context},
        status_code=status)


def to_sign_in(request: Request) -> RedirectResponse:
    """A signed-out visitor of a signed-in page: the sign-in form, then back here (the login
    route accepts only a path on this site as `next`)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def wants_html(request: Request) -> bool:
    """A browser asking for a page (the API and scripts keep their JSON errors)."""
    return (not request.url.path.startswith("/api/")
            and "text/html" in request.headers.get("accept", ""))


def error_page(request: Request, status: int, message: str,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, "error.html", {"me": None, "status": status, "message": message},
        status_code=status)
    response.headers.update(headers or {})
    return response


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
