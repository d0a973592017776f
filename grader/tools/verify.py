"""Instructor-side verification: every spec loads and its reference answers every test correctly."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.data.cache import compile_cache_dir
from grader.data.expected import expected_outputs
from grader.data.transformed import expected_rows
from grader.judging.judge import grade_submission
from grader.model.inputs import TestCase
from grader.model.problems import Problem
from grader.model.report import Report
from grader.model.transforms import CheckRow
from grader.sandbox.factory import make_sandbox
from grader.sandbox.protocol import Sandbox
from grader.tools.warm import missing_trusted
from grader.verdict import Verdict


@dataclass
class VerifyResult:
    problem: str
    tests: int = 0
    examples: int = 0
    failures: list[str] = field(default_factory=list)
    separation: list[str] = field(default_factory=list)  # one line per fixed-seed test
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def verify_problem(problem: Problem, sandbox: Sandbox | None = None,
                   examples: bool = True) -> VerifyResult:
    """Raises JudgeError for a broken reference; returns the suite's own defects as failures."""
    result = VerifyResult(problem.id, tests=len(problem.tests), failures=spec_failures(problem))
    # A fresh run of the reference, so the corpus below grades against it, not a second run.
    expected_outputs(problem, fresh=True)
    expected_rows(problem, fresh=True)
    if examples:
        _verify_examples(problem, sandbox or make_sandbox("local", compile_cache_dir()), result)
    return result


def spec_failures(problem: Problem) -> list[str]:
    """The suite's defects that show without running anything: twin tests, and trusted or
    diagnosis examples that are not there (so `verify --skip-examples` sees them too)."""
    failures = []
    seen: dict[tuple[object, ...], str] = {}
    for case in problem.tests:
        twin = seen.setdefault(case.key(), case.name)
        if twin != case.name:
            failures.append(f"test {case.name!r} has the same inputs as {twin!r}")
    # warm runs these unsandboxed: a name that points at nothing is a spec error, not a no-op.
    failures += missing_trusted(problem)
    for d in problem.spec.diagnoses:
        if not (problem.submissions_dir / d.example).is_file():
            failures.append(f"{problem.spec_path}: diagnoses names {d.example!r}, which is not "
                            f"under {problem.submissions_dir}")
    return failures


def _verify_examples(problem: Problem, sandbox: Sandbox, result: VerifyResult) -> None:
    """Every example under submissions/<id>/<verdict>/ must get exactly that verdict."""
    known = {str(v) for v in Verdict}
    reports = []
    for path in sorted(problem.submissions_dir.glob("*/*.py")):
        want = path.parent.name
        if want not in known:
            result.failures.append(f"{path}: folder {want!r} is no verdict ({sorted(known)})")
            continue
        result.examples += 1
        report = grade_submission(problem, path, sandbox)
        reports.append((want, path.stem, report))
        if report.verdict != want:
            result.failures.append(f"{path}: got {report.verdict}, its folder says {want}")
    _separation(problem, reports, result)


def _separation(problem: Problem, reports: list[tuple[str, str, Report]],
                result: VerifyResult) -> None:
    """Per fixed-seed test and function-check row: the accepted examples' largest diff and the
    wrong answers' smallest.

    Diffs are in units of the test's allowance (1 = the tolerance). The spec claims the allowance
    is `margin` times the float32 error of correct code, so diffs below 1/margin are float noise:
    an accepted example above it disproves the claim (a failure), and a wrong answer between it
    and 1 is a mistake the test sees but the tolerance forgives (a warning: other tests may catch
    it, and no tolerance can go below float noise).
    """
    noise = 1 / problem.spec.tolerance.margin
    base = len(problem.tests) + len(problem.spec.statistics)
    fixed: list[tuple[int, TestCase | CheckRow]] = [
        *enumerate(problem.tests), *((base + k, row) for k, row in enumerate(problem.check_rows))]
    for i, case in fixed:
        ratios = [(want, stem, ratio) for want, stem, r in reports
                  if (ratio := r.tests[i].ratio) is not None]
        top = max((x for want, _, x in ratios if want == Verdict.ACCEPTED), default=0.0)
        wrong = sorted((x, stem) for want, stem, x in ratios if want == Verdict.WRONG_ANSWER)
        seen = [(w, stem) for w, stem in wrong if w > max(top, noise)]
        low = f"{seen[0][0]:.3g} ({seen[0][1]})" if seen else "-"
        result.separation.append(
            f"{case.name:28s} accepted ≤ {top:.2g}  float noise {noise:.2g}  tolerance 1  "
            f"wrong answers ≥ {low}  caught {sum(w > 1 for w, _ in wrong)}/{len(wrong)}")
        if top > noise:
            result.failures.append(
                f"test {case.name!r}: an accepted example is off by {top:.3g} of the allowance, "
                f"over the 1/margin = {noise:.3g} the spec's tolerance.margin claims")
        for w, stem in seen:
            if w <= 1:
                result.warnings.append(
                    f"test {case.name!r}: wrong answer {stem} is off by {w:.3g} of the "
                    "allowance, beyond float noise, yet passes this test")
