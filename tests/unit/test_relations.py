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
from tests.specs import SECRET_DIGITS, hidden_tests_problem, values_problem

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


# --- a tuple or tree return: judged leaf by leaf, each sentence naming its leaf ---------------

@pytest.fixture(scope="module")
def tree_step(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    return values_problem(tmp_path_factory.mktemp("relations_tree"))


def per_leaf(problem: Problem, change: Callable[[int, str, np.ndarray], np.ndarray]) -> list[str]:
    """The relations of outputs that are the expected ones with each leaf changed by `change`."""
    expected = expected_outputs(problem)
    got = {i: {path: change(i, path, a) for path, a in e.items()} for i, e in enumerate(expected)}
    return relations(problem, got, expected)


def test_a_leaf_off_by_a_factor_is_named_by_its_path(tree_step: Problem) -> None:
    assert per_leaf(tree_step, lambda i, p, a: 2 * a if p == "grads.b" else a) == \
        ["Your grads.b is 2 times the expected one."]
    n = [float(c.args["n"]) for c in tree_step.tests]
    summed = per_leaf(tree_step, lambda i, p, a: a * np.float32(n[i]) if p == "per_sample" else a)
    assert summed == ["Your per_sample is n times the expected one (a sum over the samples where "
                      "their mean belongs?)."]
    assert per_leaf(tree_step, lambda i, p, a: a) == []


def test_each_wrong_leaf_gets_its_own_relation_or_none(tree_step: Problem) -> None:
    def slips(i: int, path: str, a: np.ndarray) -> np.ndarray:
        if path == "grads.w":
            return -a
        if path == "value":  # wrong by no relation: a different shift on every test
            return a + np.float32(0.1 * (i + 1))
        return a.T if path == "grads.b" else a

    found = per_leaf(tree_step, slips)
    assert len(found) == 1 and found[0].startswith(
        "Your grads.w is the expected one with the opposite sign"), found
    # grads.b is a vector: its transpose is itself, right. td in another order as well:
    found = per_leaf(tree_step, lambda i, p, a: -a if p == "grads.w" else
                     np.roll(a, 1) if p == "td" else a)
    assert [f.split(" is ")[0].split(" holds ")[0] for f in found] == \
        ["Your grads.w", "Your td"], found


def test_a_tuple_items_relation_on_a_shipped_problem() -> None:
    iwae = load_problem("iwae_bound")
    found = per_leaf(iwae, lambda i, p, a: -a if p == "grads" else a)
    assert found == ["Your grads is the expected one with the opposite sign: check the sign of "
                     "each term (a loss minimised where a reward is maximised?)."]
    # One row of the gradient doubled: named by its index (three parameters are shaped [D]).
    found = per_leaf(iwae, lambda i, p, a: np.stack([a[0], 2 * a[1]]) if p == "grads" else a)
    assert found == ["In grads, your row 1 is 2 times the expected (the other rows are right)."]
    # A correct estimate on other samples: off by noise in every leaf, no relation.
    assert relations(iwae, other_seed(iwae), expected_outputs(iwae)) == []


def test_a_count_of_zero_is_no_factor_to_divide_by() -> None:
    """rao_blackwell_reinforce has a test with n_exact = 0: output right where n_exact = 1 reads
    as 1/n_exact times the expected one there, and the zero test must not raise (a crash in the
    feedback was the grade's)."""
    problem = load_problem("rao_blackwell_reinforce")
    zero = [i for i, c in enumerate(problem.tests) if c.args.get("n_exact") == 0]
    assert zero
    assert "1/n_exact" not in said(problem, lambda i, e: e * 2 if i in zero else e)


def test_each_entry_of_a_problem_with_functions_by_its_own_return() -> None:
    """adam_step has two entries with different trees: a slip in adam_step's new_params.b is
    named by its entry and path (it read adam_init's leaves before, and said nothing)."""
    adam = load_problem("adam_step")
    expected = expected_outputs(adam)
    got = {i: {p: 2 * a if p == "new_params.b" and c.call == "adam_step" else a
               for p, a in expected[i].items()} for i, c in enumerate(adam.tests)}
    assert relations(adam, got, expected) == \
        ["Your adam_step's new_params.b is 2 times the expected one."]
    both = load_problem("score_vs_pathwise")  # two entries returning one array each
    expected = expected_outputs(both)
    got = {i: -e if c.call == "pathwise_grad" else e
           for i, (c, e) in enumerate(zip(both.tests, expected, strict=True))}
    found = relations(both, got, expected)
    assert len(found) == 1 and found[0].startswith(
        "Your pathwise_grad's result is the expected one with the opposite sign"), found
