"""Parsing, and every way out of jaxjudge mapped to 0, 1 or 2."""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import os
import select
import sys
import tomllib
import traceback
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from grader.cli.exits import EXIT_ERROR
from grader.errors import JudgeError

DESCRIPTION = """Grade JAX exercises. Learners: 'jaxjudge list', 'jaxjudge show PROBLEM', then
'jaxjudge grade PROBLEM my.py'. Instructors: 'jaxjudge verify' proves a problem's tests, 'jaxjudge
grade PROBLEM class/ --csv grades.csv' grades a class. Exit status: 0 accepted (or verified), 1
not accepted, 2 usage or judge error."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser; for `submit` (command == "submit"), its own alone: the learner's
    HTTP client then never imports the judge (numpy, pydantic, the sandbox), ~0.4 s of its start.
    """
    from grader.cli import submit  # an HTTP client: its module imports httpx only when it runs

    parser = argparse.ArgumentParser(prog="jaxjudge", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"jaxjudge {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    if command != "submit":
        from grader.cli import admin, grade, problem_commands, serve

        problem_commands.add_commands(sub)
        grade.add_commands(sub)
        # The online judge's commands: their modules import the service only when they run.
        serve.add_commands(sub)
        admin.add_commands(sub)
    submit.add_commands(sub)
    return parser


def version() -> str:
    """The installed jaxjudge's version; from a source tree that is not installed, pyproject's."""
    try:
        return importlib.metadata.version("jaxjudge")
    except importlib.metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Every way out of jaxjudge, as 0, 1 or 2 (DESIGN.md): commands return their code, and
    anything raised is mapped here."""
    try:
        words = list(sys.argv[1:] if argv is None else argv)
        args = build_parser(words[0] if words else None).parse_args(words)
    except SystemExit as exc:  # argparse: 2 after a usage error, 0 after --help
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    console = _Console(highlight=False)
    try:
        code: int = args.run(console, args)
    except JudgeError as exc:
        print(f"jaxjudge: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("jaxjudge: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError as exc:
        if _stdout_gone():
            return EXIT_ERROR  # the reader left (| head): nothing more to say, nowhere to say it
        return _internal_error(exc)
    except Exception as exc:
        return _internal_error(exc)
    return code


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich would exit 1 ("not accepted") here; main maps it like any other broken pipe."""
        self.quiet = True
        raise BrokenPipeError


def _internal_error(exc: Exception) -> int:
    """A bug in the judge: one line, and the traceback when asked for with JAXJUDGE_DEBUG=1."""
    first = (str(exc).strip().splitlines() or [""])[0]
    debug = os.environ.get("JAXJUDGE_DEBUG") == "1"
    print(f"jaxjudge: internal error: {type(exc).__name__}: {first}"
          + ("" if debug else " (JAXJUDGE_DEBUG=1 shows the traceback)"), file=sys.stderr)
    if debug:
        traceback.print_exception(exc)
    return EXIT_ERROR


def _stdout_gone() -> bool:
    """Whether stdout is a pipe nobody reads any more; if so, it is pointed at /dev/null, so
    the interpreter's last flush does not fail again on the way out."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        gone = any(ev & select.POLLERR for _, ev in poller.poll(0))
        if gone:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False
    return gone
