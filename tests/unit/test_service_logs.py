"""Structured logs: one JSON object a line, carrying what the caller passed as `extra`."""

from __future__ import annotations

import json
import logging
import sys

from grader.service.logs import JsonLines


def test_a_record_is_one_json_line_with_its_submission_id() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        exc = sys.exc_info()
    record = logging.LogRecord("jaxjudge.grader", logging.WARNING, __file__, 1,
                               "submission %d failed", (42,), exc)
    record.submission = 42
    line = JsonLines().format(record)
    assert "\n" not in line  # the traceback too stays on the one line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["msg"], entry["submission"]) == (
        "warning", "jaxjudge.grader", "submission 42 failed", 42)
    assert "ValueError: boom" in entry["exc"]
    assert {"ts", "host", "pid"} <= set(entry)
