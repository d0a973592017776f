"""Pages' plumbing: autoescaped Jinja2 templates, the sign-in redirect, errors as HTML for
browsers (statements' Markdown: statements.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from grader.model.report import value_text
from grader.service.store.models import User
from grader.service.web.security.csrf import issue_csrf
from grader.service.web.security.principal import Principal

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"

# Autoescape everywhere, not only for *.html: every value from the database is learner text.
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
templates = Jinja2Templates(env=_env)

_env.globals["value_text"] = value_text


def points_text(points: float) -> str:
    """A test's points as a person writes them: 1, 0, 0.5 (the live client writes the same)."""
    return f"{points:g}"


_env.globals["points_text"] = points_text


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
