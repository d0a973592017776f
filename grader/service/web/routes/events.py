"""A submission's grading as Server-Sent Events, read from the database (any process grades)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.types import Receive, Scope, Send

from grader.model.report import redact_test
from grader.service.store.db import Database
from grader.service.store.models import MAX_ID, Status, SubmissionRow
from grader.service.store.queries import readable
from grader.service.web.deps import AppSettings, CurrentUser, Db, LiveStreams, SubmissionId
from grader.service.web.responses import errors
from grader.service.web.streams import Streams, Watch

router = APIRouter(prefix="/api/v1/submissions", tags=["submissions"])

KEEPALIVE_S = 15.0


def _frame(event: str, data: dict[str, Any], event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


def _after(last_event_id: str | None) -> tuple[int, int]:
    """`attempt.row` of the last event a reconnecting client saw (anything else: the start).
    Rows, not unit indices: units are judged out of report order (visible ones first)."""
    try:
        attempt, row = (last_event_id or "").split(".")
        after = int(attempt), int(row)
    except ValueError:
        return 0, 0
    # The client's to forge: a number the database's integers cannot hold would crash the poll.
    return after if all(0 <= n <= MAX_ID for n in after) else (0, 0)


class WatchedStream(StreamingResponse):
    """Frees its stream slot however the response ends: finished, failed, or cancelled by a
    client disconnect (before or after its first byte)."""

    def __init__(self, content: AsyncIterator[str], streams: Streams, watch: Watch) -> None:
        super().__init__(content, media_type="text/event-stream",
                         headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self.streams, self.watch = streams, watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.streams.close(self.watch)


def _hidden_frames(db: Database, sid: int) -> str:
    """A learner's hidden tests of a finished grade, redacted, as `test` events: read once,
    from the final report, when the stream ends."""
    with db.session() as s:
        report = s.scalar(select(SubmissionRow.report).where(SubmissionRow.id == sid))
    tests = report.get("tests") if isinstance(report, dict) else None
    return "".join(_frame("test", {"index": u, "test": redact_test(t)})
                   for u, t in enumerate(tests or [])
                   if isinstance(t, dict) and not t.get("visible"))


@router.get("/{submission_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}},
                       **errors(401, 404, 422, 429, 503)})
async def events(request: Request, submission_id: SubmissionId, user: CurrentUser, db: Db,
                 settings: AppSettings, streams: LiveStreams) -> StreamingResponse:
    """`test` events (one per judged unit, in judging order), `attempt` when a grade restarts
    after its grader died, then `done` with the verdict. 429 past the user's open streams, 503
    past the server's (both with Retry-After).

    A learner's hidden tests are not streamed as they are judged: when each finishes is the
    learner's code's choice (it read the hidden inputs), so the time one arrives would carry
    them out. They come all at once, redacted, from the final report, in the same write as
    `done`. Staff see every event as it happens."""
    readable(db, submission_id, user, full=False)
    lifetime = settings.stream_seconds
    after = _after(request.headers.get("last-event-id"))
    watch = streams.open(user.id, submission_id, after)

    async def stream() -> AsyncIterator[str]:
        nonlocal after
        start = last_sent = time.monotonic()
        while (left := lifetime - (time.monotonic() - start)) > 0:
            try:  # the shared poller's next update for this stream (see streams.py)
                update = await asyncio.wait_for(watch.updates.get(), min(left, KEEPALIVE_S))
            except TimeoutError:
                if time.monotonic() - last_sent > KEEPALIVE_S:
                    yield ": keep-alive\n\n"
                    last_sent = time.monotonic()
                continue
            if update is None:
                return  # the submission is gone
            sub, rows = update
            if sub.attempts > after[0] and after[0] > 0:
                yield _frame("attempt", {"attempt": sub.attempts})
            if sub.attempts > after[0]:
                after = (sub.attempts, 0)
            for row in rows:
                after = (row.attempt, row.id)
                if not user.staff and not row.test.get("visible"):
                    continue  # released with the verdict, below
                test = row.test if user.staff else redact_test(row.test)
                yield _frame("test", {"index": row.seq, "test": test},
                             f"{row.attempt}.{row.id}")
                last_sent = time.monotonic()
            if sub.status == Status.DONE:
                end = "" if user.staff else await run_in_threadpool(
                    _hidden_frames, db, submission_id)
                yield end + _frame("done", {"id": sub.id, "status": sub.status,
                                            "verdict": sub.verdict, "score": sub.score,
                                            "counts": sub.counts})
                return

    return WatchedStream(stream(), streams, watch)
