"""The error answers each operation documents in the OpenAPI schema, in one shared dict.

Every error the service gives a client is {"error": "..."} (see middleware.py); the schema must
say which statuses each operation can answer, so that a client generated from it (and the
Schemathesis fuzz in tests/integration/test_api_fuzz.py) knows them all."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Error(BaseModel):
    """What every refusal carries: one message, for a person to read."""

    error: str


WHY = {
    400: "Malformed request: a bad Content-Length, malformed JSON, or not UTF-8 text",
    401: "No valid credentials: sign in, or send 'Authorization: Bearer <token>'",
    403: "Forbidden: the role does not allow it, or a signed-in browser sent no CSRF token",
    404: "No such resource (or one this user may not read)",
    409: "Conflicts with the resource's current state",
    413: "Request body over the service's cap",
    422: "Invalid parameters or body",
    429: "Too many requests: wait as Retry-After says",
    503: "The database is unavailable: retry after Retry-After seconds",
}
ALWAYS = (400, 413)  # the body cap (middleware.BodyLimit) answers these before any route
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                               "schema": {"type": "integer", "minimum": 1}}}


def errors(*statuses: int, html: bool = False) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with the Error model (and Retry-After where one
    is sent); `html`: outside /api/ a browser asking for text/html gets an error page."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*ALWAYS, *statuses}):
        entry: dict[str, Any] = {"model": Error, "description": WHY[status]}
        if html:
            entry["content"] = {"text/html": {"schema": {"type": "string"}}}
        if status in (429, 503):
            entry["headers"] = RETRY_AFTER
        out[status] = entry
    return out
