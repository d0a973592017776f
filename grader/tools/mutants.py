"""Mutation check for instructors: small slips in each trusted solution that the tests must
catch (the reference, then the spec's trusted_examples)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.data.cache import compile_cache_dir
from grader.judging.judge import grade_submission
from grader.judging.mutated import sourced_mutants
from grader.model.mutations import Mutant, mutants
from grader.model.problems import Problem
from grader.model.report import Report
from grader.sandbox.factory import make_sandbox
from grader.sandbox.protocol import Sandbox
from grader.verdict import Verdict

__all__ = ["Mutant", "MutantResult", "mutants", "run_mutants", "stale_explanations"]

Grade = Callable[[Problem, Path, Sandbox], Report]


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    verdict: Verdict
    feedback: tuple[str, ...] = ()  # what a learner who made this slip reads
    source: str = "reference"  # the trusted solution mutated, as problem.yaml names it
    explained: str = ""  # the spec's reason this mutant gives the same answer ("": none)

    @property
    def recognised(self) -> str:
        """The hint that names this slip: its own, a diagnosis's or a relation's ("": none)."""
        return self.feedback[0] if self.feedback else ""

    @property
    def survived(self) -> bool:
        return self.verdict == Verdict.ACCEPTED

    @property
    def hole(self) -> bool:
        """Accepted with no reason given why it may be: a hole in the tests."""
        return self.survived and not self.explained


def source_name(problem: Problem, path: Path) -> str:
    """`reference`, or a trusted example's path under submissions/<problem>/."""
    if path == problem.reference_path:
        return "reference"
    return path.relative_to(problem.submissions_dir).as_posix()


def _key(source: str, mutant: Mutant) -> tuple[str, int, str]:
    return source, mutant.line, mutant.change


def run_mutants(problem: Problem, sandbox: Sandbox | None = None,
                grade: Grade | None = None) -> list[MutantResult]:
    """Grades each mutant of every trusted solution like a submission (a mutant whose change
    reads as an earlier solution's is left out, as feedback leaves it out); survivors the
    spec's `equivalent_mutants` does not explain are holes in the tests, and the feedback each
    caught one gets says whether a learner would be told the slip."""
    sandbox = sandbox or make_sandbox("local", compile_cache_dir())
    grade = grade or grade_submission
    reasons = {(e.source, e.line, e.change): e.reason for e in problem.spec.equivalent_mutants}
    results = []
    with tempfile.TemporaryDirectory(prefix="jaxjudge-mutants-") as tmp:
        for i, (path, m) in enumerate(sourced_mutants(problem)):
            mutant_path = Path(tmp) / f"mutant_{i}.py"
            mutant_path.write_text(m.source, encoding="utf-8")
            mutant_path.chmod(0o644)
            report = grade(problem, mutant_path, sandbox)
            name = source_name(problem, path)
            results.append(MutantResult(m, report.verdict, tuple(report.feedback), name,
                                        reasons.get(_key(name, m), "")))
    return results


def stale_explanations(problem: Problem, results: list[MutantResult]) -> list[str]:
    """The spec's `equivalent_mutants` that explain nothing: no such mutant was graded (the
    code moved, or the change reads as an earlier solution's), or the tests caught it (so it
    is not equivalent after all)."""
    graded = {_key(r.source, r.mutant): r for r in results}
    out = []
    for e in problem.spec.equivalent_mutants:
        where = f"{problem.spec_path}: equivalent_mutants {e.source} line {e.line} ({e.change})"
        r = graded.get((e.source, e.line, e.change))
        if r is None:
            out.append(f"{where} names no mutant verify grades; update or remove it")
        elif not r.survived:
            out.append(f"{where} is caught ({r.verdict}): not equivalent; remove it")
    return out
