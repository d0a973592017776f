"""`jaxjudge submit`: send a file to a server, follow its event stream, print the report."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from grader.errors import JudgeError
from grader.model.report import render
from grader.model.submission import read_submission

TIMEOUT = httpx.Timeout(30.0, read=120.0)


def _error(response: httpx.Response) -> JudgeError:
    try:
        message = response.json().get("error", response.text)
    except ValueError:
        message = response.text[:200]
    return JudgeError(f"server answered {response.status_code}: {message}")


def sse(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a text/event-stream."""
    event, data = "message", list[str]()
    for line in response.iter_lines():
        if not line:
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", list[str]()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def submit(problem: str, path: Path, server: str, token: str | None, fmt: str,
           console: Console) -> str:
    """Submits, waits for the verdict (printing tests as they arrive on a terminal) and prints
    the report as `jaxjudge grade` would; returns the verdict."""
    token = token or os.environ.get("JAXJUDGE_TOKEN")
    if not token:
        raise JudgeError("no API token: pass --token or set JAXJUDGE_TOKEN")
    source = read_submission(path)  # the same refusals as `grade`: links, FIFOs, non-UTF-8
    headers = {"Authorization": f"Bearer {token}"}
    live = fmt == "text" and console.is_terminal
    with httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=TIMEOUT) as http:
        try:
            r = http.post("/api/v1/submissions", data={"problem": problem},
                          files={"file": (path.name, source.source, "text/x-python")})
            if r.status_code != 201:
                raise _error(r)
            sid = r.json()["id"]
            with http.stream("GET", f"/api/v1/submissions/{sid}/events") as stream:
                if stream.status_code != 200:
                    stream.read()
                    raise _error(stream)
                for event, data in sse(stream):
                    if event == "test" and live:
                        t = data["test"]
                        console.print(f"  {t['verdict']:>22}  {t['name']}", markup=False,
                                      highlight=False)
                    elif event == "done":
                        break
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
