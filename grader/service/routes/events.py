"""A submission's grading as Server-Sent Events, read from the database (any process grades)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from grader.model.report import redact_test
from grader.service.models import Event, Status, Submission, User
from grader.service.routes.submissions import MAX_ID, SubmissionId, readable
from grader.service.security import current_user

router = APIRouter(prefix="/api/v1/submissions", tags=["submissions"])

KEEPALIVE_S = 15.0
MAX_STREAM_S = 3600.0  # a stream is bounded even if its submission never finishes


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


def _hidden_frames(report: dict[str, Any] | None) -> str:
    """A learner's hidden tests of a finished grade, redacted, as `test` events."""
    tests = (report or {}).get("tests") or []
    return "".join(_frame("test", {"index": u, "test": redact_test(t)})
                   for u, t in enumerate(tests) if isinstance(t, dict) and not t.get("visible"))


def _poll(request: Request, sid: int, after: tuple[int, int]) -> tuple[Submission, list[Event]]:
    with request.app.state.db.session() as s:
        sub = s.get(Submission, sid)
        assert sub is not None
        latest = sub.attempts  # events of an attempt that a newer one replaced are stale
        since = after[1] if after[0] == latest else 0
        rows = list(s.scalars(select(Event).where(
            Event.submission_id == sid, Event.attempt == latest, Event.id > since)
            .order_by(Event.id)))
        return sub, rows


@router.get("/{submission_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def events(request: Request, submission_id: SubmissionId,
                 user: User = Depends(current_user)) -> StreamingResponse:
    """`test` events (one per judged unit, in judging order), `attempt` when a grade restarts
    after its grader died, then `done` with the verdict.

    A learner's hidden tests are not streamed as they are judged: when each finishes is the
    learner's code's choice (it read the hidden inputs), so the time one arrives would carry
    them out. They come all at once, redacted, from the final report, in the same write as
    `done`. Staff see every event as it happens."""
    readable(request, submission_id, user)
    poll_s = request.app.state.settings.poll_seconds
    after = _after(request.headers.get("last-event-id"))

    async def stream() -> AsyncIterator[str]:
        nonlocal after
        start = last_sent = time.monotonic()
        while time.monotonic() - start < MAX_STREAM_S:
            sub, rows = await run_in_threadpool(_poll, request, submission_id, after)
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
                end = "" if user.staff else _hidden_frames(sub.report)
                yield end + _frame("done", {"id": sub.id, "status": sub.status,
                                            "verdict": sub.verdict, "score": sub.score,
                                            "counts": sub.counts})
                return
            if time.monotonic() - last_sent > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            await asyncio.sleep(poll_s)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
