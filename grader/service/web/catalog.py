"""The problems the service serves: a client's problem id checked and loaded (never a path),
and each problem's visible examples with the reference's outputs."""

from __future__ import annotations

import re
import threading

from grader.data.expected import expected_outputs
from grader.errors import UnknownProblemError
from grader.model.problems import Problem, load_problem
from grader.model.report import plain
from grader.service.errors import NotFound
from grader.service.web.schemas import Example

PROBLEM_ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # never a path: no dots, no slashes
_examples: dict[str, list[Example]] = {}
_lock = threading.Lock()


def find_problem(problem_id: object) -> Problem:
    """The problem, or a 404 for anything that is not one (including a path in disguise)."""
    if not isinstance(problem_id, str) or not PROBLEM_ID.match(problem_id):
        raise NotFound("no such problem")
    try:
        return load_problem(problem_id)
    except UnknownProblemError:
        raise NotFound(f"no such problem: {problem_id}") from None


def examples(problem: Problem) -> list[Example]:
    """Visible tests with the reference's outputs, computed once per process (and cached on
    disk by the core); hidden tests never appear here."""
    with _lock:
        if problem.id not in _examples:
            outs = expected_outputs(problem)
            _examples[problem.id] = [
                Example(name=c.name, call=c.call, args={k: plain(v) for k, v in c.args.items()},
                        expected=plain(out))
                for c, out in zip(problem.tests, outs, strict=True) if c.visible]
        return _examples[problem.id]
