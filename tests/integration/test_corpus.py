"""Every example under submissions/ gets its folder's verdict through the real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.judge import grade_submission
from grader.problems import load_problem
from grader.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "submissions").glob("*/*/*.py"))


def test_corpus_covers_every_verdict_but_judge_error() -> None:
    folders = {p.parent.name for p in EXAMPLES if p.parent.parent.name == "reinforce_grad"}
    assert folders == {str(v) for v in Verdict} - {"judge_error"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: "/".join(p.parts[-3:]))
def test_example_gets_its_folders_verdict(path: Path) -> None:
    problem_id, verdict = path.parent.parent.name, path.parent.name
    report = grade_submission(load_problem(problem_id), path)
    assert str(report.verdict) == verdict, [t.to_dict() for t in report.tests][:2]
    if verdict == "accepted":
        assert report.score == 1.0
    else:
        assert report.score < 1.0
