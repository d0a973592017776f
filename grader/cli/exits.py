"""Exit status, decided here only: 0 accepted or verified, 1 not accepted or verification
failed, 2 usage or judge error (DESIGN.md)."""

from __future__ import annotations

from collections.abc import Sequence

from grader.verdict import Verdict

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def grade_exit(verdicts: Sequence[str], batch: bool) -> int:
    """The one rule for graded submissions: a judge error anywhere is 2; one submission is 0 only
    when accepted, while a batch succeeds once every submission got its verdict."""
    if Verdict.JUDGE_ERROR in verdicts:
        return EXIT_ERROR
    if batch or all(v == Verdict.ACCEPTED for v in verdicts):
        return EXIT_OK
    return EXIT_FAILED
