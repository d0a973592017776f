"""The service's client errors: each is one HTTP status and a message the client may read."""

from __future__ import annotations

from grader.errors import JudgeError


class ClientError(JudgeError):
    status = 400

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class BadRequest(ClientError):
    status = 400


class Unauthorized(ClientError):
    status = 401


class Forbidden(ClientError):
    status = 403


class NotFound(ClientError):
    status = 404


class TooLarge(ClientError):
    status = 413


class Invalid(ClientError):
    status = 422


class TooMany(ClientError):
    status = 429


class Unavailable(ClientError):
    status = 503
