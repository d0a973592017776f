"""`jaxjudge submit`: a file to a server, its report back; it exits as `grade` does for one file
(`exits.grade_exit`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from grader.cli.exits import grade_exit


def cmd_submit(console: Console, args: argparse.Namespace) -> int:
    from grader.cli.client import submit  # httpx, loaded only for this command

    verdict = submit(args.problem, Path(args.file), args.server, args.token, args.format,
                     console, run=args.run_only)
    return grade_exit([verdict], batch=False)


def add_commands(sub: Any) -> None:
    submit = sub.add_parser("submit", help="submit a file to a server and wait for its report")
    submit.add_argument("problem")
    submit.add_argument("file")
    submit.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8000")
    submit.add_argument("--token", help="API token (default: $JAXJUDGE_TOKEN)")
    submit.add_argument("--format", choices=["text", "json"], default="text")
    submit.add_argument("--run", dest="run_only", action="store_true",
                        help="a Run: the visible tests and checks only, not graded or counted")
    submit.set_defaults(run=cmd_submit)
