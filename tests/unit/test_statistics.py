"""The statistical checks' maths on synthetic draws, where the truth is known."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from grader.judging.statistics import (
    FALSE_FAIL,
    check_calls,
    evaluate,
    output_shape,
    t_threshold,
    trusted_data,
    trusted_samples,
    z_threshold,
)
from grader.model.checks import MeanCheck, SumZeroCheck, VarianceCheck
from grader.model.problems import load_problem
from grader.verdict import Verdict


@pytest.mark.parametrize(("p", "df", "table"), [(0.975, 10, 2.228), (0.995, 30, 2.750),
                                                (0.9995, 60, 3.460), (0.975, 120, 1.980)])
def test_t_threshold_matches_printed_t_tables(p: float, df: int, table: float) -> None:
    assert t_threshold(NormalDist().inv_cdf(p), df) == pytest.approx(table, abs=2e-3)


def test_z_threshold_spends_the_false_fail_budget_over_all_components() -> None:
    spec = load_problem("reinforce_grad").spec
    components = sum(int(np.prod(output_shape(spec, c))) for c in spec.statistics
                     if isinstance(c, MeanCheck))
    z = z_threshold(spec)
    assert components == 4
    assert components * 2 * (1 - NormalDist().cdf(z)) == pytest.approx(FALSE_FAIL, rel=1e-6)


def _draws(mean: np.ndarray, var: np.ndarray, seeds: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return list(rng.normal(mean, np.sqrt(var), size=(seeds, *mean.shape)).astype(np.float32))


def _check(kind: type, name: str):  # type: ignore[no-untyped-def]
    problem = load_problem("reinforce_grad")
    check = next(c for c in problem.spec.statistics if isinstance(c, kind))
    assert check.name == name
    return problem, check, trusted_data(problem, check)


def test_mean_check_accepts_unbiased_draws_and_rejects_a_small_bias() -> None:
    problem, check, trusted = _check(MeanCheck, "unbiased")
    mu, var = trusted["expectation"], trusted["variance"]
    z = z_threshold(problem.spec)
    verdict, message = evaluate(problem, check, _draws(mu, var, check.seeds), trusted, z)
    assert verdict == Verdict.ACCEPTED and "exact variance" in message
    # A bias of 8 standard errors on one component is rejected and reported with its z.
    se = np.sqrt(var / check.seeds)
    shifted = mu + np.where(np.arange(mu.size) == 2, 8 * se, 0.0)
    verdict, message = evaluate(problem, check, _draws(shifted, var, check.seeds), trusted, z)
    assert verdict == Verdict.WRONG_ANSWER
    assert "at index (2,)" in message and "biased" in message


def test_mean_check_uses_the_t_threshold_without_an_exact_variance() -> None:
    problem, check, trusted = _check(MeanCheck, "unbiased")
    no_var = {"expectation": trusted["expectation"]}
    z = z_threshold(problem.spec)
    draws = _draws(trusted["expectation"], trusted["variance"], check.seeds)
    verdict, message = evaluate(problem, check, draws, no_var, z)
    assert verdict == Verdict.ACCEPTED and "sample variance" in message
    assert f"threshold {t_threshold(z, check.seeds - 1):.2f}" in message


def test_variance_ratio_rejects_no_noise_and_too_much() -> None:
    problem, check, trusted = _check(VarianceCheck, "spread_like_reference")
    against = float(trusted["against_variance"])
    mu = np.zeros(4)
    ok = _draws(mu, np.full(4, against / 4), check.seeds)
    assert evaluate(problem, check, ok, trusted, 5.0)[0] == Verdict.ACCEPTED
    flat = [np.zeros(4, np.float32)] * check.seeds
    verdict, message = evaluate(problem, check, flat, trusted, 5.0)
    assert verdict == Verdict.WRONG_ANSWER and "too little" in message
    loud = _draws(mu, np.full(4, 4 * against), check.seeds)
    assert "too much" in evaluate(problem, check, loud, trusted, 5.0)[1]


def test_sum_zero_allows_float_error_only() -> None:
    problem, check, trusted = _check(SumZeroCheck, "components_sum_to_zero")
    base = np.array([1.0, -0.5, -0.25, -0.25], np.float32)
    near = [base + np.float32(1e-6)] * check.seeds  # sum 4e-6, under 1e-5 * max|R| = 4e-5
    assert evaluate(problem, check, near, trusted, 5.0)[0] == Verdict.ACCEPTED
    off = [base + np.float32(1e-3)] * check.seeds
    verdict, message = evaluate(problem, check, off, trusted, 5.0)
    assert verdict == Verdict.WRONG_ANSWER and "sum to 0" in message


def test_wrong_shape_or_nan_is_a_wrong_answer() -> None:
    problem, check, trusted = _check(MeanCheck, "unbiased")
    wide = [np.zeros((2, 4), np.float32)] * check.seeds
    assert "expected (4,)" in evaluate(problem, check, wide, trusted, 5.0)[1]
    nan = [np.full(4, np.nan, np.float32)] * check.seeds
    assert "NaN" in evaluate(problem, check, nan, trusted, 5.0)[1]


def test_trusted_samples_batch_a_traceable_helper_and_loop_one_that_is_not() -> None:
    """One jitted vmap over the seeds gives each seed's eager call (up to float32 rounding); a
    helper that cannot trace (int() of the seed) is called seed by seed, with the same result."""
    problem = load_problem("reinforce_grad")
    spec = problem.spec
    check = spec.statistics[0].model_copy(update={"seeds": 20})
    fn = getattr(problem.reference_module, spec.function.name)
    eager = np.stack([np.asarray(fn(**call), dtype=np.float64)
                      for call in check_calls(spec, check)])
    traced: list[int] = []

    def counting(seed: object, logits: object, reward_table: object, n_samples: object) -> object:
        traced.append(1)
        return fn(seed, logits, reward_table, n_samples)

    batched = trusted_samples(counting, spec, check)
    assert len(traced) == 1  # traced once for all 20 seeds: batched, not looped
    np.testing.assert_allclose(batched, eager, rtol=1e-5, atol=1e-6)
    assert len({r.tobytes() for r in batched}) > 10  # each seed its own draw

    def untraceable(seed: float, logits: object, reward_table: object, n_samples: object) -> object:
        return fn(float(int(seed)), logits, reward_table, n_samples)

    np.testing.assert_allclose(trusted_samples(untraceable, spec, check), eager, rtol=1e-6)
