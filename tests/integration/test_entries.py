"""Several entry points through the real sandbox: each test runs the entry it names, a file
missing one entry is a compile error naming it before any call (a hidden-only entry's too), and
what a hidden call of an entry did reaches the learner only as its verdict."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem
from grader.sandbox.local import LocalSandbox
from grader.verdict import Verdict

pytestmark = pytest.mark.usefixtures("clean_after")

ROOT = Path(__file__).resolve().parents[2]
CORRECT = (ROOT / "submissions" / "score_vs_pathwise" / "accepted" / "closed_form.py").read_text()


@pytest.fixture(scope="module")
def two_entries() -> Problem:
    """score_vs_pathwise without its statistical checks: the fixed tests decide here."""
    problem = load_problem("score_vs_pathwise")
    return replace(problem, spec=problem.spec.model_copy(update={"statistics": []}))


def test_a_file_missing_an_entry_is_a_compile_error_naming_it(
        two_entries: Problem, tmp_path: Path, warmed_for: Callable[[Problem], Path]) -> None:
    path = tmp_path / "only_score.py"
    path.write_text(CORRECT.split("def pathwise_grad")[0])
    report = grade_submission(
        two_entries, path, LocalSandbox(compile_cache=warmed_for(two_entries)), advise=False)
    assert report.verdict == Verdict.COMPILE_ERROR
    first = report.tests[0]
    assert first.message == "your file defines no function named 'pathwise_grad'", first.message
    # Found before any call: the hidden tests are not run, and say only that.
    assert all(t.message == "not run: see worked_example_score" for t in report.tests[1:])


# pathwise_grad raises, on every call, an exception class named after its inputs.
ATTACK = CORRECT.split("def pathwise_grad")[0] + '''
def pathwise_grad(seed, mu, sigma, n_samples):
    tag = "Leak_" + "_".join(str(int(1000 * abs(float(v)))) for v in mu)
    raise type(tag, (Exception,), {})(tag)
'''


def test_each_test_runs_its_entry_and_a_hidden_calls_failure_shows_only_its_verdict(
        two_entries: Problem, tmp_path: Path, warmed_for: Callable[[Problem], Path]) -> None:
    path = tmp_path / "attack.py"
    path.write_text(ATTACK)
    report = grade_submission(
        two_entries, path, LocalSandbox(compile_cache=warmed_for(two_entries)), advise=False)
    verdicts = {t.name: t.verdict for t in report.tests}
    calls = {c.name: c.call for c in two_entries.tests}
    assert {n for n, v in verdicts.items() if v == Verdict.ACCEPTED} == \
        {n for n, c in calls.items() if c == "score_grad"}, verdicts
    assert {verdicts[n] for n, c in calls.items() if c == "pathwise_grad"} == \
        {Verdict.RUNTIME_ERROR}
    shown = next(t for t in report.tests if t.name == "worked_example_pathwise")
    assert "Leak_1000_500" in shown.message  # a visible test's own inputs: the learner's to see
    learner = report.to_dict()
    hidden = [t for t in learner["tests"] if t["name"] == "hidden_2"]
    assert hidden == [{"name": "hidden_2", "verdict": "runtime_error", "visible": False,
                       "points": 1.0, "statistical": False}]
    # hidden_2's mu is [-1.5, 0.25]: its tag would be Leak_1500_250.
    assert "1500_250" not in json.dumps(learner), learner


ADAM = (ROOT / "submissions" / "adam_step" / "accepted" / "tree_leaves.py").read_text()


@pytest.fixture(scope="module")
def sequences() -> Problem:
    """adam_step with its two sequences alone (init, step, step; one visible, one hidden)."""
    problem = load_problem("adam_step")
    spec = problem.spec.model_copy(update={
        "tests": [t for t in problem.spec.tests if t.steps is not None], "generated": []})
    return replace(problem, spec=spec)


# A slip that shows only once the state is not fresh: the incoming m is ignored.
FORGETS_M = ADAM.replace("m = b1 * m + (1 - b1) * g", "m = (1 - b1) * g")


def test_a_sequence_is_judged_step_by_step_and_a_wrong_step_is_named(
        sequences: Problem, tmp_path: Path, warmed_for: Callable[[Problem], Path]) -> None:
    assert FORGETS_M != ADAM
    good, bad = tmp_path / "good.py", tmp_path / "forgets_m.py"
    good.write_text(ADAM)
    bad.write_text(FORGETS_M)
    report = grade_submission(
        sequences, good, LocalSandbox(compile_cache=warmed_for(sequences)), advise=False)
    assert report.verdict == Verdict.ACCEPTED, [(t.name, t.message) for t in report.tests]
    assert [t.name for t in report.tests] == [f"{s}.step{k}" for s in (
        "init_then_two_steps", "hidden_sequence") for k in range(3)]
    report = grade_submission(
        sequences, bad, LocalSandbox(compile_cache=warmed_for(sequences)), advise=False)
    verdicts = {t.name: t.verdict for t in report.tests}
    # Step 2 took the reference's state after step 1, not the learner's: steps 0 and 1 pass.
    assert verdicts["init_then_two_steps.step1"] == Verdict.ACCEPTED, verdicts
    second = next(t for t in report.tests if t.name == "init_then_two_steps.step2")
    assert second.verdict == Verdict.WRONG_ANSWER
    assert second.message.startswith("step 2 (adam_step): new_params."), second.message


# Every call raises an exception class named after its entry and its inputs' digits.
LEAKY = '''
def _tag(name, tree):
    import numpy as np
    leaves = [np.ravel(np.asarray(x)) for x in jax.tree_util.tree_leaves(tree)]
    digits = "_".join(str(int(1000 * abs(float(v)))) for v in np.concatenate(leaves)[:4])
    return type(f"Leak_{name}_{digits}", (Exception,), {})(digits)


def adam_init(params):
    raise _tag("adam_init", params)


def adam_step(params, grads, state, lr, b1, b2, eps):
    raise _tag("adam_step", grads)
'''


def test_a_hidden_sequence_shows_nothing_of_its_steps(
        sequences: Problem, tmp_path: Path, warmed_for: Callable[[Problem], Path]) -> None:
    path = tmp_path / "leaky.py"
    path.write_text("import jax\n" + LEAKY)
    report = grade_submission(
        sequences, path, LocalSandbox(compile_cache=warmed_for(sequences)), advise=False)
    assert {t.verdict for t in report.tests} == {Verdict.RUNTIME_ERROR}
    shown = next(t for t in report.tests if t.name == "init_then_two_steps.step0")
    assert "Leak_adam_init_0_500_1000_1000" in shown.message  # a visible step's own inputs
    learner = report.to_dict()
    hidden = [t for t in learner["tests"] if not t["visible"]]
    assert [t["name"] for t in hidden] == [f"hidden_sequence.step{k}" for k in range(3)]
    assert all(set(t) == {"name", "verdict", "visible", "points", "statistical"}
               for t in hidden), hidden
    # The hidden steps' entries and inputs (leaves b then w: step 1's grads b [0.2, -0.6],
    # w [[0.1, 0.4], ...]; step 2's b [0.1, 0.2], w [[-0.2, 0.6], ...]).
    text = json.dumps(hidden)
    assert "adam" not in text and "Leak" not in text, text
    assert "200_600_100_400" not in json.dumps(learner)
    assert "100_200_200_600" not in json.dumps(learner)
