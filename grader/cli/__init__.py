"""The jaxjudge command, on top of every other layer: argument parsing, output, exit codes."""

from grader.cli.main import main

__all__ = ["main"]
