"""The corpus as a whole: every verdict, every problem walked, every hint to read. The examples
themselves are graded by the test_corpus_<part>.py modules (see tests/integration/corpus.py)."""

from __future__ import annotations

from grader.verdict import Verdict
from tests.integration.corpus import BIASED, EXAMPLES, FEEDBACK, PARTS, UNDER_DOCKER, name_of

PROBLEMS_WITH_EXAMPLES = sorted({p.parent.parent.name for p in EXAMPLES})


def test_corpus_covers_every_verdict_but_judge_error() -> None:
    folders = {p.parent.name for p in EXAMPLES if p.parent.parent.name == "reinforce_grad"}
    assert folders == {str(v) for v in Verdict} - {"judge_error"}


def test_every_problem_with_examples_is_walked_by_exactly_one_part() -> None:
    walked = [pid for part in PARTS.values() for pid in part]
    assert sorted(walked) == PROBLEMS_WITH_EXAMPLES


def test_docker_runs_one_example_of_each_verdict() -> None:
    under = [p for p in EXAMPLES if name_of(p) in UNDER_DOCKER]
    assert {name_of(p) for p in under} == UNDER_DOCKER
    assert {p.parent.name for p in under} == {str(v) for v in Verdict} - {"judge_error"}


def test_every_biased_and_feedback_example_exists() -> None:
    names = {f"{p.parent.parent.name}/{p.stem}" for p in EXAMPLES}
    assert names >= BIASED and set(FEEDBACK) <= names


def test_every_wrong_answer_has_a_hint_to_read() -> None:
    wrong = {f"{p.parent.parent.name}/{p.stem}" for p in EXAMPLES
             if p.parent.name == "wrong_answer"}
    assert wrong <= set(FEEDBACK), wrong - set(FEEDBACK)
