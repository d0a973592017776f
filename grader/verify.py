"""Instructor-side verification: every spec loads and its reference answers every test correctly."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.expected import reference_output
from grader.problems import Problem


@dataclass
class VerifyResult:
    problem: str
    tests: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def verify_problem(problem: Problem) -> VerifyResult:
    """Raises JudgeError for a broken reference; returns the suite's own defects as failures."""
    result = VerifyResult(problem.id)
    seen: dict[tuple[object, ...], str] = {}
    for case in problem.tests:
        result.tests += 1
        twin = seen.setdefault(case.key(), case.name)
        if twin != case.name:
            result.failures.append(f"test {case.name!r} has the same inputs as {twin!r}")
        reference_output(problem, case)
    return result
