"""Mutation check for instructors: small slips in the reference that the tests must catch."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.data.cache import compile_cache_dir
from grader.judging.judge import grade_submission
from grader.model.mutations import Mutant, mutants
from grader.model.problems import Problem
from grader.sandbox.factory import make_sandbox
from grader.sandbox.protocol import Sandbox
from grader.verdict import Verdict

__all__ = ["Mutant", "MutantResult", "mutants", "run_mutants"]


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    verdict: Verdict
    feedback: tuple[str, ...] = ()  # what a learner who made this slip reads

    @property
    def recognised(self) -> str:
        """The hint that names this slip: its own, a diagnosis's or a relation's ("": none)."""
        return self.feedback[0] if self.feedback else ""

    @property
    def survived(self) -> bool:
        return self.verdict == Verdict.ACCEPTED


def run_mutants(problem: Problem, sandbox: Sandbox | None = None) -> list[MutantResult]:
    """Grades each mutant of the reference like a submission; survivors are holes in the tests,
    and the feedback each caught one gets says whether a learner would be told the slip."""
    sandbox = sandbox or make_sandbox("local", compile_cache_dir())
    source = problem.reference_path.read_text(encoding="utf-8")
    results = []
    with tempfile.TemporaryDirectory(prefix="jaxjudge-mutants-") as tmp:
        for i, m in enumerate(m for f in problem.spec.entries for m in mutants(source, f.name)):
            path = Path(tmp) / f"mutant_{i}.py"
            path.write_text(m.source, encoding="utf-8")
            path.chmod(0o644)
            report = grade_submission(problem, path, sandbox)
            results.append(MutantResult(m, report.verdict, tuple(report.feedback)))
    return results
