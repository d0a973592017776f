"""The HTTP client of `jaxjudge submit`: send a file to a server, follow its event stream, print
the report."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from grader.errors import JudgeError
from grader.model.notebook import is_notebook
from grader.model.report import render
from grader.model.submission import read_submission

TIMEOUT = httpx.Timeout(30.0, read=120.0)
RECONNECTS = 50  # event streams one submit opens at most (each lives up to 10 minutes)


def _error(response: httpx.Response) -> JudgeError:
    try:
        message = response.json().get("error", response.text)
    except ValueError:
        message = response.text[:200]
    return JudgeError(f"server answered {response.status_code}: {message}")


def sse(response: httpx.Response, seen: list[str] | None = None
        ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a text/event-stream; each event's id, if any, appended to
    `seen` (what a reconnect sends as Last-Event-ID)."""
    event, data, event_id = "message", list[str](), ""
    for line in response.iter_lines():
        if not line:
            if data:
                if event_id and seen is not None:
                    seen.append(event_id)
                yield event, json.loads("\n".join(data))
            event, data, event_id = "message", list[str](), ""
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line.startswith("id:"):
            event_id = line[3:].strip()


def follow(http: httpx.Client, sid: int, live: bool, console: Console) -> None:
    """Reads the submission's events until `done`: a stream ends after its lifetime (or the
    server refuses one while too many are open), and is then opened again where it stopped."""
    seen: list[str] = []
    for _ in range(RECONNECTS):
        headers = {"Last-Event-ID": seen[-1]} if seen else {}
        with http.stream("GET", f"/api/v1/submissions/{sid}/events", headers=headers) as stream:
            if stream.status_code in (429, 503) and "retry-after" in stream.headers:
                stream.read()
                wait = stream.headers["retry-after"]
                time.sleep(min(60, max(1, int(wait) if wait.isdigit() else 5)))
                continue
            if stream.status_code != 200:
                stream.read()
                raise _error(stream)
            for event, data in sse(stream, seen):
                if event == "test" and live:
                    t = data["test"]
                    console.print(f"  {t['verdict']:>22}  {t['name']}", markup=False,
                                  highlight=False)
                elif event == "done":
                    return
    raise JudgeError(f"submission {sid}: no verdict after {RECONNECTS} event streams")


def submit(problem: str, path: Path, server: str, token: str | None, fmt: str,
           console: Console, run: bool = False) -> str:
    """Submits (`run`: as a Run, graded on the visible tests and checks only and never
    counted), waits for the verdict (printing tests as they arrive on a terminal) and prints
    the report as `jaxjudge grade` would; returns the verdict."""
    token = token or os.environ.get("JAXJUDGE_TOKEN")
    if not token:
        raise JudgeError("no API token: pass --token or set JAXJUDGE_TOKEN")
    source = read_submission(path)  # the same refusals as `grade`: links, FIFOs, non-UTF-8
    headers = {"Authorization": f"Bearer {token}"}
    kind = "application/x-ipynb+json" if is_notebook(path.name) else "text/x-python"
    live = fmt == "text" and console.is_terminal
    with httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=TIMEOUT) as http:
        try:
            form = {"problem": problem, **({"run": "true"} if run else {})}
            r = http.post("/api/v1/submissions", data=form,
                          files={"file": (path.name, source.source, kind)})
            if r.status_code != 201:
                raise _error(r)
            sid = r.json()["id"]
            follow(http, sid, live, console)
            r = http.get(f"/api/v1/submissions/{sid}")
        except httpx.HTTPError as exc:
            raise JudgeError(f"{server}: {exc}") from exc
        if r.status_code != 200:
            raise _error(r)
    report: dict[str, Any] = r.json()["report"]
    if fmt == "json":
        print(json.dumps(report))
    else:
        render(report, console)
    sys.stdout.flush()
    return str(report["verdict"])
