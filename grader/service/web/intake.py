"""Reading a submission from a hostile request: bounded, UTF-8, a real problem, within limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.service.errors import BadRequest, Invalid, TooLarge, TooMany
from grader.service.settings import Settings
from grader.service.store.models import Status, Submission, User, utcnow
from grader.service.web.routes.problems_api import find_problem

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")
MAX_JSON_DEPTH = 32  # a submission is one flat object; deeper is never a real client


@dataclass(frozen=True)
class Intake:
    problem: str
    filename: str
    source: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source).hexdigest()


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{field}: expected a string")
    return value


def utf8_source(source: bytes | str, cap: int) -> bytes:
    if isinstance(source, str):
        try:
            source = source.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a JSON \ud800 escape
            raise BadRequest("source: not valid Unicode text") from None
    if len(source) > cap:
        raise TooLarge(f"source is {len(source)} bytes, over the {cap // 1024} KiB cap")
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"source: not UTF-8 text (byte {exc.start})") from None
    return source


_BRACKET = np.zeros(256, np.int32)
_BRACKET[[ord("["), ord("{")]], _BRACKET[[ord("]"), ord("}")]] = 1, -1
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes) -> int:
    """How deep a JSON text nests, its strings skipped, without parsing it: byte-string passes
    and one cumulative sum (no Python loop over the body, no recursion). Exact for valid JSON;
    UTF-8 is safe, since no byte of a multi-byte character is ASCII."""
    # Every backslash starts an escape: drop escaped backslashes, then escaped quotes; the
    # quotes left open and close strings, so every other piece between them is outside.
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(text.split(b'"')[::2]).translate(None, _NOT_BRACKET)
    if not outside:
        return 0
    return int(np.cumsum(_BRACKET[np.frombuffer(outside, np.uint8)]).max())


def parse_json(body: bytes) -> Any:
    """A client's JSON, its nesting bounded before parsing (50,000 levels raised RecursionError
    in the parser: a 500), so neither the parser nor any code after it recurses deeply."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8") from None
    if json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"JSON nested over {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except RecursionError:  # not reachable past the check above; never a 500 all the same
        raise BadRequest(f"JSON nested over {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        raise BadRequest("malformed JSON body") from None


async def read_intake(request: Request, cap: int) -> Intake:
    """JSON {"problem", "source"} or a multipart form with `problem` and a `file` upload."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        data = parse_json(await request.body())  # size bounded by the BodyLimit middleware
        if not isinstance(data, dict):
            raise Invalid("expected a JSON object {\"problem\": ..., \"source\": ...}")
        missing = [k for k in ("problem", "source") if k not in data]
        if missing:
            raise Invalid(f"missing field(s): {', '.join(missing)}")
        problem = find_problem(_text(data["problem"], "problem")).id
        return Intake(problem, f"{problem}.py", utf8_source(_text(data["source"], "source"), cap))
    if kind == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
        upload, problem_id = form.get("file"), form.get("problem")
        if problem_id is None:
            raise Invalid("missing field: problem")
        if upload is None:
            raise Invalid("missing field: file (the .py file to grade)")
        problem = find_problem(_text(problem_id, "problem")).id
        if isinstance(upload, str):  # the file's text as a plain field (no filename)
            return Intake(problem, f"{problem}.py", utf8_source(upload, cap))
        source = await upload.read(cap + 1)
        name = SAFE_NAME.sub("_", (upload.filename or "").rsplit("/", 1)[-1])[:100]
        return Intake(problem, name or f"{problem}.py", utf8_source(source, cap))
    raise BadRequest("send application/json or multipart/form-data")


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise BadRequest("Idempotency-Key: 1 to 128 printable ASCII characters")
    return key


def replay(s: Session, user: User, key: str | None, intake: Intake) -> Submission | None:
    """The submission this key already made; the same key with other content is refused."""
    if key is None:
        return None
    row = s.scalar(select(Submission).where(Submission.user_id == user.id,
                                            Submission.idempotency_key == key))
    if row is not None and (row.problem, row.sha256) != (intake.problem, intake.sha256):
        raise Invalid("Idempotency-Key already used for a different submission")
    return row


def check_limits(s: Session, user: User, settings: Settings, problem: str) -> None:
    """Per user: at most rate_limit submissions per window, and queued_cap waiting at once;
    per learner and problem, daily_submissions_per_problem per UTC day. Counted in `s`, the
    session that then adds the submission (in one stretch of the event loop, with no await
    between: this process cannot interleave two submits between count and insert). Across web
    processes on PostgreSQL, the user's row is locked (FOR UPDATE) until that session commits,
    so their submits are counted one at a time (SQLite ignores the lock: there, each web
    process can let one concurrent submit past, no more)."""
    s.execute(select(User.id).where(User.id == user.id).with_for_update())
    check_daily(s, user, settings, problem)
    since = utcnow() - dt.timedelta(seconds=settings.rate_window)
    recent = list(s.scalars(select(Submission.created).where(
        Submission.user_id == user.id, Submission.created > since)
        .order_by(Submission.created.desc()).limit(settings.rate_limit)))
    if len(recent) >= settings.rate_limit:
        wait = (recent[-1] - since).total_seconds()
        raise TooMany(f"at most {settings.rate_limit} submissions per {settings.rate_window} s",
                      retry_after=max(1, math.ceil(wait)))
    waiting = s.scalar(select(func.count()).where(
        Submission.user_id == user.id,
        Submission.status.in_([Status.QUEUED, Status.RUNNING]))) or 0
    if waiting >= settings.queued_cap:
        raise TooMany(f"{waiting} of your submissions are still waiting to be graded",
                      retry_after=max(1, math.ceil(settings.lease_seconds / 3)))


def check_daily(s: Session, user: User, settings: Settings, problem: str,
                now: dt.datetime | None = None) -> None:
    """At most daily_submissions_per_problem submissions of `problem` by a learner per UTC
    day (staff exempt; 0: no cap). Every row counts, graded or not: each is a submission that
    hidden tests answered or may still answer."""
    cap = settings.daily_submissions_per_problem
    if cap <= 0 or user.staff:
        return
    now = now or utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = select(Submission.id).where(
        Submission.user_id == user.id, Submission.problem == problem,
        Submission.created >= midnight).limit(cap).subquery()
    if (s.scalar(select(func.count()).select_from(today)) or 0) >= cap:
        wait = (midnight + dt.timedelta(days=1) - now).total_seconds()
        hours, minutes = divmod(math.ceil(wait / 60), 60)
        raise TooMany(f"at most {cap} submissions of {problem} per day: you have made them "
                      f"all today; the next is possible after 00:00 UTC (in {hours} h "
                      f"{minutes:02d} min)", retry_after=max(1, math.ceil(wait)))
