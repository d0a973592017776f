"""A submission's page: its grade as each test is judged, diffs, hints, output and source."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response

from grader.errors import SubmissionRefused
from grader.model.report import redact, value_text
from grader.model.submission import Submission
from grader.service.store.models import Status
from grader.service.store.queries import readable
from grader.service.web.deps import Db, SubmissionId, Visitor
from grader.service.web.plots import check_plot
from grader.service.web.templating import page, to_sign_in

router = APIRouter(include_in_schema=False)

MAX_DIFF_ROWS = 64  # a long vector's diff is cut: the largest differences come first


def diff_rows(shown: dict[str, Any]) -> list[dict[str, str]]:
    """Element by element, expected against got (largest difference first), when both are
    numbers of one shape; otherwise nothing (the values are still shown whole)."""
    try:
        want = np.asarray(shown.get("expected"), dtype=np.float64).ravel()
        got = np.asarray(shown.get("got"), dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return []
    if want.shape != got.shape or want.size == 0:
        return []
    gap = np.abs(want - got)
    order = np.argsort(-np.nan_to_num(gap, nan=np.inf), kind="stable")[:MAX_DIFF_ROWS]
    return [{"index": str(int(i)), "expected": f"{want[i]:.7g}", "got": f"{got[i]:.7g}",
             "diff": f"{gap[i]:.3g}"} for i in order]


def _tests(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, t in enumerate(report["tests"]):
        shown = t.get("shown") or {}
        values = [(k, value_text(v)) for k, v in (shown.get("args") or {}).items()]
        values += [(k, value_text(v)) for k, v in shown.items() if k != "args"]
        earned = float(t["points"]) if t["verdict"] == "accepted" else 0.0
        out.append({**t, "earned": earned, "values": values,
                    "diff": diff_rows(shown) if shown else [],
                    # a visible check's picture; a hidden one has no data for it, nor a place
                    "svg": check_plot(t.get("plot"), f"plot{i}") if t["visible"] else None})
    return out


@router.get("/submissions/{submission_id}")
def submission_page(request: Request, submission_id: SubmissionId, principal: Visitor,
                    db: Db) -> Response:
    """Learners read their own (redacted by `redact`, the one place that decides); staff read
    every submission in full, hidden values and hidden output included."""
    if principal is None:
        return to_sign_in(request)
    user = principal.user
    sub, author = readable(db, submission_id, user)
    report = sub.report
    if report is not None and not user.staff:
        report = redact(report)
    done = sub.status == Status.DONE
    tests = _tests(report) if report else []
    return page(request, "submission.html", principal, sub=sub, author=author, done=done,
                report=report, tests=tests, earned=sum(t["earned"] for t in tests),
                possible=sum(float(t["points"]) for t in tests),
                source=_shown_source(sub.filename, sub.source), staff=user.staff,
                events=f"/api/v1/submissions/{sub.id}/events")


def _shown_source(name: str, source: bytes) -> str:
    """The code as graded: a notebook's code cells (escaped by the template like any source),
    the text itself when it is not one or cannot be read as one."""
    try:
        return Submission(name, source).python()[0].source.decode("utf-8", "replace")
    except SubmissionRefused:
        return source.decode("utf-8", "replace")
