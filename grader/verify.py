"""Instructor-side verification: every spec loads and its reference answers every test correctly."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.expected import reference_output, store_expected
from grader.judge import grade_submission
from grader.problems import Problem
from grader.sandbox import Sandbox
from grader.verdict import Verdict


@dataclass
class VerifyResult:
    problem: str
    tests: int = 0
    examples: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def verify_problem(problem: Problem, sandbox: Sandbox | None = None,
                   examples: bool = True) -> VerifyResult:
    """Raises JudgeError for a broken reference; returns the suite's own defects as failures."""
    result = VerifyResult(problem.id)
    seen: dict[tuple[object, ...], str] = {}
    outs = []
    for case in problem.tests:
        result.tests += 1
        twin = seen.setdefault(case.key(), case.name)
        if twin != case.name:
            result.failures.append(f"test {case.name!r} has the same inputs as {twin!r}")
        outs.append(reference_output(problem, case))
    # A fresh run of the reference, so the corpus below grades against it, not a second run.
    store_expected(problem, outs)
    if examples:
        _verify_examples(problem, sandbox, result)
    return result


def _verify_examples(problem: Problem, sandbox: Sandbox | None, result: VerifyResult) -> None:
    """Every example under submissions/<id>/<verdict>/ must get exactly that verdict."""
    known = {str(v) for v in Verdict}
    for path in sorted(problem.submissions_dir.glob("*/*.py")):
        want = path.parent.name
        if want not in known:
            result.failures.append(f"{path}: folder {want!r} is no verdict ({sorted(known)})")
            continue
        result.examples += 1
        got = grade_submission(problem, path, sandbox).verdict
        if got != want:
            result.failures.append(f"{path}: got {got}, its folder says {want}")
