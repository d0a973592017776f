"""Relations between got and expected: each names its mistake, and stays silent when it must."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from grader.data.expected import expected_outputs, reference_output
from grader.judging.relations import relations
from grader.model.problems import Problem, load_problem
from tests.specs import SECRET_DIGITS, hidden_tests_problem

Outputs = dict[int, np.ndarray]


@pytest.fixture(scope="module")
def reinforce() -> Problem:
    return load_problem("reinforce_grad")


@pytest.fixture(scope="module")
def reparam() -> Problem:
    return load_problem("reparam_grad")


def said(problem: Problem, make: Callable[[int, np.ndarray], np.ndarray]) -> str:
    expected = expected_outputs(problem)
    found = relations(problem, {i: make(i, e) for i, e in enumerate(expected)}, expected)
    assert len(found) <= 1
    return found[0] if found else ""


def other_seed(problem: Problem) -> Outputs:
    """A correct estimate on other samples: the reference with every seed moved by 1000."""
    out = {}
    for i, case in enumerate(problem.tests):
        moved = dataclasses.replace(case, args={**case.args, "seed": case.args["seed"] + 1000})
        out[i] = reference_output(problem, moved)
    return out


def test_a_correct_estimate_on_another_seed_reads_as_no_relation(reinforce: Problem,
                                                                 reparam: Problem) -> None:
    for problem in (reinforce, reparam):
        assert relations(problem, other_seed(problem), expected_outputs(problem)) == []


def test_opposite_sign(reinforce: Problem) -> None:
    assert "opposite sign" in said(reinforce, lambda i, e: -e)
    # Negated on some tests only: no one relation explains every output.
    assert said(reinforce, lambda i, e: -e if i % 2 else e + 0.5) == ""


def test_a_sum_where_a_mean_belongs_is_n_times(reinforce: Problem) -> None:
    hint = said(reinforce, lambda i, e: e * np.float32(reinforce.tests[i].args["n_samples"]))
    assert hint.startswith("Your result is n_samples times the expected one") and "sum" in hint
    assert "1/n_samples times" in said(
        reinforce, lambda i, e: e / np.float32(reinforce.tests[i].args["n_samples"]))


def test_a_constant_factor_is_named(reinforce: Problem) -> None:
    assert "Your result is 1/2 times the expected one" in said(reinforce, lambda i, e: e / 2)
    # Not clean, but a visible test shows it: the learner already sees both arrays.
    assert "1.37 times" in said(reinforce, lambda i, e: e * np.float32(1.37))


def test_a_factor_seen_on_hidden_tests_only_is_named_only_when_clean(tmp_path: Path) -> None:
    problem = hidden_tests_problem(tmp_path)
    expected = expected_outputs(problem)
    hidden = [i for i, c in enumerate(problem.tests) if not c.visible]
    # Its visible tests raised (no output): the factor shows on hidden tests alone.
    for factor, named in ((3.141592, ""), (2.0, "Your result is 2 times the expected one.")):
        found = relations(problem, {i: expected[i] * np.float32(factor) for i in hidden},
                          expected)
        assert found == ([named] if named else []), found
    right = said(problem, lambda i, e: e * np.float32(3.141592) if i in hidden else e)
    assert "3.14" not in right and not any(d in right for d in SECRET_DIGITS)


def test_one_row_off_by_a_factor(reparam: Problem) -> None:
    def double(i: int, e: np.ndarray) -> np.ndarray:
        return np.stack([e[0], 2 * e[1]])

    assert said(reparam, lambda i, e: double(i, e)) == \
        "Your log_sigma row is 2 times the expected (the other rows are right)."
    # Off by a different factor per element (sigma itself): no one factor to name.
    assert "row" not in said(reparam, lambda i, e: np.stack(
        [e[0], e[1] * np.linspace(0.5, 1.5, e.shape[1], dtype=np.float32)]))


def test_transpose(reparam: Problem) -> None:
    assert "transpose of the expected one: return shape [2, D]" in said(reparam, lambda i, e: e.T)
    assert "transpose" not in said(reparam, lambda i, e: 3 * e.T)


def test_values_in_another_order(reinforce: Problem) -> None:
    assert "another order" in said(reinforce, lambda i, e: np.roll(e, 1))
    assert "another order" not in said(reinforce, lambda i, e: np.roll(e + 0.1, 1))


def test_one_row_per_sample(reinforce: Problem) -> None:
    assert "one row per sample" in said(reinforce, lambda i, e: np.stack([e * 0, e * 2]))
    assert "one row per sample" not in said(reinforce, lambda i, e: np.stack([e, e * 2]))


def test_same_output_for_different_inputs(reinforce: Problem) -> None:
    fixed = np.asarray([0.1, -0.1, 0.0], dtype=np.float32)
    hint = said(reinforce, lambda i, e: fixed if e.shape == fixed.shape else e)
    assert "same result for tests whose inputs differ" in hint
    assert relations(reinforce, other_seed(reinforce), expected_outputs(reinforce)) == []


def test_the_exact_expectation(reinforce: Problem) -> None:
    exact = reinforce.reference_module.expectation
    hint = said(reinforce, lambda i, e: np.asarray(exact(
        reinforce.tests[i].args["logits"], reinforce.tests[i].args["reward_table"]),
        dtype=np.float32))
    assert hint.startswith("Your result is the exact expectation")


def test_right_on_visible_tests_only(reinforce: Problem) -> None:
    def visible_only(i: int, e: np.ndarray) -> np.ndarray:
        return e if reinforce.tests[i].visible else e + np.float32(0.25)

    assert "right on every visible test and wrong on every hidden one" in \
        said(reinforce, visible_only)
    # Wrong on a visible test as well: that is no sign of hard-coded examples.
    assert said(reinforce, lambda i, e: visible_only(i, e) if i else e + 0.25) == ""


def test_no_relation_for_a_submission_that_is_right(reinforce: Problem) -> None:
    assert said(reinforce, lambda i, e: e) == ""
