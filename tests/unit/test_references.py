"""Each reference against its closed-form expectation at large n, within a z-bound."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader.model.inputs import call_args
from grader.model.problems import load_problem
from grader.model.values import trusted_output

N = 200_000
Z = 6.0  # a correct reference fails a 6-sigma bound with probability ~2e-9 per component


def reinforce_se(logits: np.ndarray, rewards: np.ndarray, n: int) -> np.ndarray:
    """Standard error from DESIGN.md: Var g_j = p_j R_j^2 (1-2p_j) + p_j^2 sum p R^2 - mu_j^2."""
    p = np.exp(logits - logits.max())
    p /= p.sum()
    mu = p * (rewards - p @ rewards)
    var = p * rewards**2 * (1 - 2 * p) + p**2 * (p @ rewards**2) - mu**2
    return np.asarray(np.sqrt(np.maximum(var, 0) / n))


CASES = [
    (np.array([0.0, 0.0], np.float32), np.array([10.0, 0.0], np.float32)),
    (np.array([1.0, -0.5, 0.3, 2.0], np.float32), np.array([-2.0, 0.0, 3.0, 1.5], np.float32)),
]


@pytest.mark.parametrize(("logits", "rewards"), CASES)
@pytest.mark.parametrize("problem_id", ["reinforce_grad", "reinforce_baseline_grad"])
def test_reinforce_matches_exact_gradient(problem_id: str, logits: np.ndarray,
                                          rewards: np.ndarray) -> None:
    ref = load_problem(problem_id).reference_module
    est = np.asarray(getattr(ref, problem_id)(0.0, logits, rewards, float(N)), dtype=np.float64)
    exact = ref.expectation(logits, rewards)
    # Plain REINFORCE's variance bounds the baseline's: the baseline only removes variance.
    se = reinforce_se(logits.astype(np.float64), rewards.astype(np.float64), N)
    assert np.all(np.abs(est - exact) <= Z * se + 1e-5 * np.abs(rewards).max()), (est, exact, se)
    assert abs(est.sum()) < 1e-4 * np.abs(rewards).max()  # scores sum to zero


def test_baseline_has_lower_spread_than_plain() -> None:
    logits, rewards = CASES[1]
    plain = load_problem("reinforce_grad").reference_module.reinforce_grad
    base = load_problem("reinforce_baseline_grad").reference_module.reinforce_baseline_grad
    a = np.stack([np.asarray(plain(float(s), logits, rewards + 10, 200.0)) for s in range(30)])
    b = np.stack([np.asarray(base(float(s), logits, rewards + 10, 200.0)) for s in range(30)])
    assert b.std(axis=0).sum() < 0.5 * a.std(axis=0).sum()


def test_reparam_matches_closed_form() -> None:
    ref = load_problem("reparam_grad").reference_module
    mu = np.array([0.0, 1.0, -2.0], np.float32)
    ls = np.array([0.0, 0.5, -0.5], np.float32)
    est = np.asarray(ref.reparam_grad(1.0, mu, ls, float(N)), dtype=np.float64)
    exact = ref.expectation(mu, ls)
    np.testing.assert_allclose(exact, np.stack([2 * mu, 2 * np.exp(2 * ls)]), rtol=1e-6)
    m, s = mu.astype(np.float64), np.exp(ls.astype(np.float64))
    # Var of 2x is 4 s^2; Var of 2 x eps s is 4 s^2 (m^2 + 2 s^2).
    se = np.stack([2 * s, 2 * s * np.sqrt(m**2 + 2 * s**2)]) / np.sqrt(N)
    assert est.shape == (2, 3)
    assert np.all(np.abs(est - exact) <= Z * se), (est, exact, se)


def test_seed_is_truncated_like_the_statement_says() -> None:
    ref = load_problem("reinforce_grad").reference_module
    logits, rewards = CASES[1]
    a = np.asarray(ref.reinforce_grad(3.7, logits, rewards, 100.0))
    b = np.asarray(ref.reinforce_grad(3.0, logits, rewards, 100.0))
    c = np.asarray(ref.reinforce_grad(4.0, logits, rewards, 100.0))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def _compact(value: float | list[Any] | np.ndarray) -> str:
    """An array as a statement writes it: [1, -0.5] (float32 values shown to 4 digits)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return f"{float(value):.4g}"


# Each *Worked mini-example*: the bold result its statement prints, the same numbers, and how
# close the reference on the spec's `worked_example` test must be (4 printed digits; "about"
# for an estimate from 1,000 samples, whose standard error there is <= 0.045).
MINUS = "\N{MINUS SIGN}"
WORKED: dict[str, tuple[str, list[Any], float]] = {
    "discounted_returns": ("**[1.5, 1, 2, 1.5, 1]**", [1.5, 1, 2, 1.5, 1], 1e-6),
    "ppo_clip_objective": ("**0.2378**", [0.2378], 5e-5),
    "per_example_grads": (f"**[[{MINUS}0.2689, 0], [1.4621, 0.7311]]**",
                          [[-0.2689, 0], [1.4621, 0.7311]], 5e-5),
    "bernoulli_score_grad": ("about **[1, 0, 0]**", [1, 0, 0], 0.15),
    "gae_advantages": (f"**[0.75, {MINUS}1, {MINUS}0.3125, 2.75, {MINUS}1]**",
                       [0.75, -1, -0.3125, 2.75, -1], 1e-6),
    "policy_gradient_rtg": (f"**[[{MINUS}0.25, 0.25], [0.5, {MINUS}0.5]]**",
                            [[-0.25, 0.25], [0.5, -0.5]], 1e-6),
    "adam_step": (f"**[[0.9, {MINUS}0.9], [0.4, 2]]**", [[0.9, -0.9], [0.4, 2]], 1e-5),
    "log1pexp_vjp": ("**[0, 0.3133, 0.6931, 1.3133, 100]**", [0, 0.3133, 0.6931, 1.3133, 100],
                     5e-5),
    "hvp_given": ("**[2, 0.5]**", [2, 0.5], 1e-6),
    "gumbel_softmax_sample": ("**[[0.5209, 0.4757, 0.003439], [0.644, 0.3193, 0.03672]]**",
                              [[0.5209, 0.4757, 0.003439], [0.644, 0.3193, 0.03672]], 5e-5),
    "antithetic_reparam_grad": ("**[[1.6, 1.065], [1.478, 0.1348]]**",
                                [[1.6, 1.065], [1.478, 0.1348]], 5e-4),
    "iwae_bound": (f"**{MINUS}2.816** and its gradient **[[0.1563, 0.3852], [0.2844, "
                   f"{MINUS}0.462]]**", [-2.816, 0.1563, 0.3852, 0.2844, -0.462], 5e-4),
    "gumbel_max_sample": ("**[1, 1, 0, 0, 1]**", [1, 1, 0, 0, 1], 0.0),
    "control_variate_grad": (f"**[2.5, {MINUS}2.5]**", [2.5, -2.5], 1e-5),
    "rao_blackwell_reinforce": (f"**[{MINUS}0.2797, 0.1505, 0.1292]**",
                                [-0.2797, 0.1505, 0.1292], 5e-5),
    "straight_through_gumbel": ("**[0.5492, 0.3481, 0.0285, 0.0742]**",
                                [0.5492, 0.3481, 0.0285, 0.0742], 5e-5),
    "reinforce_grad": (f"**[2.565, {MINUS}2.565]**", [2.565, -2.565], 5e-4),
    "reinforce_baseline_grad": (f"**[2.501, {MINUS}2.501]**", [2.501, -2.501], 5e-4),
    "reparam_grad": (f"**[[0.007762, {MINUS}0.09722], [1.933, 2.097]]**",
                     [[0.007762, -0.09722], [1.933, 2.097]], 5e-4),
}
# The visible test a statement works through, where it is not named worked_example.
WORKED_TEST = {"reparam_grad": "standard_normal"}
# A tuple or tree return: the leaf whose value the statement shows in bold.
WORKED_LEAF = {"adam_step": "new_params.w"}


def _arrays(value: Any) -> list[np.ndarray]:
    """An argument's arrays: the argument itself, or a tree's leaves."""
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays(v)]
    return [value] if isinstance(value, np.ndarray) else []


@pytest.mark.parametrize("problem_id", sorted(WORKED))
def test_worked_example_in_statement_is_what_the_reference_computes(problem_id: str) -> None:
    problem = load_problem(problem_id)
    shown, numbers, atol = WORKED[problem_id]
    text = problem.statement()
    section = text.split("## Worked mini-example", 1)[1].split("\n## ", 1)[0]
    assert shown in section
    case = next(c for c in problem.tests
                if c.name == WORKED_TEST.get(problem_id, "worked_example"))
    assert case.visible
    # The statement's inputs are the test's: every array argument appears as written.
    plain = section.replace(MINUS, "-")
    for name, value in case.args.items():
        for array in _arrays(value):
            assert _compact(array) in plain, (name, _compact(array))
    entry = problem.spec.entry(case.call)  # with `functions`, the one worked_example calls
    fn = getattr(problem.reference_module, entry.name)
    result = trusted_output(entry, fn(**call_args(case.args, problem.given_functions)))
    if problem_id in WORKED_LEAF:
        result = result[WORKED_LEAF[problem_id]]
    elif isinstance(result, dict):  # a tuple return: its items' numbers in order
        result = np.concatenate([np.ravel(item) for item in result.values()])
    got = np.asarray(result, dtype=np.float64)
    want = np.asarray(numbers, dtype=np.float64)
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=0, atol=atol)


def test_log1pexp_worked_gradient_is_what_the_reference_pulls_back() -> None:
    """The statement's derivative on the worked example: jax.vjp of the reference (its
    custom_vjp) with a cotangent of ones, as the gradient_rule check applies it."""
    import jax

    problem = load_problem("log1pexp_vjp")
    section = problem.statement().split("## Worked mini-example", 1)[1].split("\n## ", 1)[0]
    assert "with `g` all ones,\n**[0, 0.2689, 0.5, 0.7311, 1]**" in section
    case = next(c for c in problem.tests if c.name == "worked_example")
    out, pullback = jax.vjp(problem.reference_module.log1pexp, case.args["x"])
    (grad,) = pullback(np.ones_like(out))
    np.testing.assert_allclose(np.asarray(grad), [0, 0.2689, 0.5, 0.7311, 1], rtol=0, atol=5e-5)


def test_ppo_worked_total_is_what_the_reference_sums() -> None:
    """The statement's second worked number: the same batch under reduction "sum" (its own
    visible test), and the reduction reaches the reference as the plain string the spec says."""
    problem = load_problem("ppo_clip_objective")
    section = problem.statement().split("## Worked mini-example", 1)[1].split("\n## ", 1)[0]
    assert 'the\ntotal **0.9513** with `reduction = "sum"`' in section
    case = next(c for c in problem.tests if c.name == "worked_example_summed")
    mean = next(c for c in problem.tests if c.name == "worked_example")
    assert case.visible and type(case.args["reduction"]) is str and case.args["reduction"] == "sum"
    assert case.args.keys() == mean.args.keys() and mean.args["reduction"] == "mean"
    for name in ("logp_new", "logp_old", "advantages", "epsilon"):
        np.testing.assert_array_equal(case.args[name], mean.args[name])
    got = problem.reference_module.ppo_clip_objective(**call_args(case.args))
    np.testing.assert_allclose(np.asarray(got), [0.9513], rtol=0, atol=5e-5)


def test_hvp_given_statement_numbers() -> None:
    """The worked example's other numbers: the Hessian, the gradient and diagonal it contrasts,
    and Rosenbrock's Hessian at its minimum, from given.py through JAX."""
    import jax

    problem = load_problem("hvp_given")
    given, hvp = problem.given_functions, problem.reference_module.hvp
    section = problem.statement().split("## Worked mini-example", 1)[1].split("\n## ", 1)[0]
    for shown in ("[[2, 0.5], [0.5, 2]]", "[3, 4.5]", "`[2, 0]`", f"[[802, {MINUS}400], "
                  f"[{MINUS}400, 200]]", f"[802, {MINUS}400]"):
        assert shown in section, shown
    x, v = np.array([1.0, 2.0], np.float32), np.array([1.0, 0.0], np.float32)
    hess = np.asarray(jax.hessian(given["quadratic"])(x))
    np.testing.assert_allclose(hess, [[2, 0.5], [0.5, 2]], atol=1e-6)
    np.testing.assert_allclose(jax.grad(given["quadratic"])(x), [3, 4.5], atol=1e-6)
    np.testing.assert_allclose(np.diag(hess) * v, [2, 0], atol=1e-6)
    ones = np.ones(2, np.float32)
    np.testing.assert_allclose(jax.hessian(given["rosenbrock"])(ones), [[802, -400],
                                                                        [-400, 200]], atol=1e-3)
    np.testing.assert_allclose(hvp(given["rosenbrock"], ones, v), [802, -400], atol=1e-3)


def test_bernoulli_moments_match_enumeration() -> None:
    """expectation and variance (used by the statistical checks) against all 2^K outcomes."""
    ref = load_problem("bernoulli_score_grad").reference_module
    logits = np.array([0.5, -1.0, 2.0])
    table = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 1.0]])
    p = 1 / (1 + np.exp(-logits))
    mean, second = np.zeros(3), np.zeros(3)
    for bits in range(8):
        b = np.array([(bits >> k) & 1 for k in range(3)])
        prob = np.prod(np.where(b == 1, p, 1 - p))
        g = table[np.arange(3), b].sum() * (b - p)
        mean += prob * g
        second += prob * g**2
    np.testing.assert_allclose(ref.expectation(logits, table), mean, rtol=1e-12)
    np.testing.assert_allclose(ref.variance(logits, table, 200.0), (second - mean**2) / 200,
                               rtol=1e-12)


def test_gumbel_softmax_moments_match_sampling() -> None:
    """The quadrature moments (used by the statistical checks) against 200,000 samples of the
    reference, and their tau -> 0 limit: the Gumbel-max probabilities softmax(logits)."""
    ref = load_problem("gumbel_softmax_sample").reference_module
    logits = np.array([3.0, 0.0, -3.0], np.float32)
    y = np.asarray(ref.gumbel_softmax_sample(0, logits, 3.0, N), dtype=np.float64)
    mean, second = ref._moments(logits, 3.0)
    var = second - mean**2
    np.testing.assert_array_equal(ref.expectation(logits, 3.0, 2), [mean, mean])
    assert np.all(np.abs(y.mean(0) - mean) <= Z * np.sqrt(var / N)), (y.mean(0), mean)
    # The sample variance of N draws has sd ~ sqrt(2 / N) relative for near-Gaussian values.
    np.testing.assert_allclose(y.var(0), var, rtol=Z * np.sqrt(4 / N))
    np.testing.assert_allclose(mean.sum(), 1.0, atol=1e-9)
    p = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    near, far = ref._moments(logits, 0.05)[0], ref._moments(logits, 0.5)[0]
    assert np.abs(near - p).max() < 1e-3 < np.abs(far - p).max(), (near, far, p)


def test_antithetic_moments_match_sampling() -> None:
    """The closed-form mean and variance of one antithetic pair against 200,000 pairs."""
    ref = load_problem("antithetic_reparam_grad").reference_module
    mu, ls = np.array([0.5, -0.5, 1.0]), np.array([-1.0, -1.5, 0.3])
    eps = np.random.default_rng(0).standard_normal((N, 3))
    s = np.exp(ls)
    pair = np.stack([np.exp(mu) * np.cosh(s * eps), s * eps * np.exp(mu) * np.sinh(s * eps)],
                    axis=1)
    var = ref.variance(mu, ls, 1)
    assert np.all(np.abs(pair.mean(0) - ref.expectation(mu, ls)) <= Z * np.sqrt(var / N))
    np.testing.assert_allclose(pair.var(0), var, rtol=0.05)
    est = np.asarray(ref.antithetic_reparam_grad(0, mu.astype(np.float32),
                                                 ls.astype(np.float32), 1000), np.float64)
    assert np.all(np.abs(est - ref.expectation(mu, ls)) <= Z * np.sqrt(var / 1000))


def test_iwae_moments_match_sampling() -> None:
    """The exact answers the statistics use: the one-sample ELBO's moments and the bound at the
    posterior, against the reference over many seeds."""
    ref = load_problem("iwae_bound").reference_module
    x, mu, ls = (np.array(v, np.float32) for v in ([1.0, -0.5], [0.2, 0.3], [-0.3, 0.2]))
    import jax  # the reference traces: one vmapped call draws every seed's sample at once

    value, grads = (np.asarray(a, np.float64) for a in jax.vmap(
        lambda s: ref.iwae_bound(s, x, mu, ls, 1))(np.arange(20_000)))
    for got, mean, var in ((value, ref.expected_value(x, mu, ls), ref.variance_value(x, mu, ls)),
                           (grads, ref.expected_grads(x, mu, ls), ref.variance_grads(x, mu, ls))):
        assert np.all(np.abs(got.mean(0) - mean) <= Z * np.sqrt(var / len(got))), got.mean(0)
        np.testing.assert_allclose(got.var(0), var, rtol=0.1)
    post = np.full(2, -0.5 * np.log(2.0), np.float32)
    v, g = ref.iwae_bound(7, x, x / 2, post, 8)
    assert abs(float(v) - float(ref.log_evidence(x))) < 1e-5
    # Equal weights: the gradients average -2 sigma eps = -sqrt(2) eps and 1 - eps^2.
    eps = np.asarray(jax.random.normal(jax.random.PRNGKey(7), (8, 2)), np.float64)
    want = np.stack([-np.sqrt(2.0) * eps.mean(0), (1 - eps**2).mean(0)])
    np.testing.assert_allclose(np.asarray(g), want, atol=1e-5)


def test_straight_through_worked_gradient_is_the_references_vjp() -> None:
    """The statement's hard-sample value and its vjp at c = e_0, from the reference itself."""
    import jax

    problem = load_problem("straight_through_gumbel")
    section = problem.statement().split("## Worked mini-example", 1)[1].split("\n## ", 1)[0]
    assert "`[1, 0, 0, 0]`" in section and "`[0.4952, -0.3824, -0.0313, -0.0815]`" in section
    case = next(c for c in problem.tests if c.name == "hard_sample")
    args = call_args(case.args, problem.given_functions)
    fn = problem.reference_module.st_gumbel
    value, pullback = jax.vjp(lambda x: fn(**{**args, "logits": x}), args["logits"])
    np.testing.assert_allclose(np.asarray(value), [1, 0, 0, 0], atol=1e-6)
    (grad,) = pullback(np.array([1.0, 0.0, 0.0, 0.0], np.float32))
    np.testing.assert_allclose(np.asarray(grad), [0.4952, -0.3824, -0.0313, -0.0815], atol=5e-5)


def test_control_variate_moments_match_every_outcome() -> None:
    """The closed-form finite-n mean and variance (a binomial sum per component) against the
    estimator summed over every multinomial outcome of the counts, at n = 12 where the
    all-or-none events are likely; at the checks' n = 200 the mean is the exact gradient."""
    import itertools
    from math import lgamma

    ref = load_problem("control_variate_grad").reference_module
    logits, rewards = np.array([0.5, -0.5, 0.0, 1.0]), np.array([1.0, -2.0, 4.0, 0.5])
    p, n = ref._probs(logits), 12
    counts = np.array([[*c, n - sum(c)] for c in itertools.product(range(n + 1), repeat=3)
                       if sum(c) <= n], dtype=np.float64)
    w = np.exp([lgamma(n + 1) - sum(lgamma(x + 1) for x in c)
                + sum(x * np.log(q) for x, q in zip(c, p, strict=True)) for c in counts])
    g = ref.estimate_from_counts(counts, p, rewards)
    mean, var = ref.moments(logits, rewards, n)
    np.testing.assert_allclose(mean, w @ g, rtol=1e-9)
    np.testing.assert_allclose(var, w @ (g - w @ g) ** 2, rtol=1e-9)
    mean200, _ = ref.moments(logits, rewards, 200)
    np.testing.assert_allclose(mean200, ref.expectation(logits, rewards), rtol=0, atol=1e-9)


def test_control_variate_reference_is_its_count_formula() -> None:
    """The jnp reference (moments of f and h) and the count formula the moments rest on agree,
    including a component never drawn (its c_j = 0)."""
    import jax

    ref = load_problem("control_variate_grad").reference_module
    cases = [(1, CASES[1][0]), (2, np.array([8.0, 0.0, 0.0, 0.0], np.float32))]
    rewards = CASES[1][1]
    for seed, logits in cases:  # the checks' shapes, (4,) and 200 samples: compiled once
        actions = np.asarray(jax.random.categorical(jax.random.PRNGKey(seed), logits,
                                                    shape=(200,)))
        counts = np.bincount(actions, minlength=len(logits)).astype(np.float64)
        want = ref.estimate_from_counts(counts, ref._probs(logits), rewards.astype(float))
        got = np.asarray(ref.control_variate_grad(float(seed), logits, rewards, 200.0))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(rewards).max())
    assert counts[1:].min() == 0  # the second case has a category never drawn


def test_rao_blackwell_limits_are_reinforce_and_the_exact_gradient() -> None:
    """n_exact = 0 samples everything (plain REINFORCE, same draws); n_exact = K sums everything
    (the exact gradient). The exact variance is checked against sampling by the calibration
    test (spread_like_reference over 10 seed offsets)."""
    ref = load_problem("rao_blackwell_reinforce").reference_module
    logits, rewards = CASES[1]
    plain = load_problem("reinforce_grad").reference_module.reinforce_grad
    np.testing.assert_array_equal(ref.rao_blackwell_reinforce(3.0, logits, rewards, 200.0, 0),
                                  plain(3.0, logits, rewards, 200.0))
    np.testing.assert_allclose(ref.rao_blackwell_reinforce(3.0, logits, rewards, 200.0, 4),
                               ref.expectation(logits, rewards), rtol=0, atol=1e-6)
    assert np.all(ref.variance(logits, rewards, 200.0, 4) == 0)


def test_score_vs_pathwise_worked_example_and_moments() -> None:
    """Both entries' numbers in the statement, from the worked_example tests, and the exact
    variances the checks use against sampling (the score's is 17 times the pathwise one's)."""
    problem = load_problem("score_vs_pathwise")
    ref = problem.reference_module
    section = problem.statement().split("## Worked mini-example", 1)[1].split("\n## ", 1)[0]
    for call, shown in (("score_grad", [4.499, 2.076]), ("pathwise_grad", [2.217, -0.2655])):
        case = next(c for c in problem.tests if c.name.startswith("worked_example")
                    and c.call == call)
        assert case.visible
        for array in _arrays(case.args):
            assert _compact(array) in section, _compact(array)
        assert f"**{_compact(np.asarray(shown))}**" in section
        got = np.asarray(getattr(ref, call)(**call_args(case.args)), dtype=np.float64)
        np.testing.assert_allclose(got, shown, rtol=0, atol=5e-4)
    mu, sigma = np.array([1.0, -0.5]), np.array([0.5, 1.0])
    x = mu + sigma * np.random.default_rng(0).normal(size=(N, 2))
    g = (x**2).sum(1, keepdims=True) * (x - mu) / sigma**2
    np.testing.assert_allclose(g.mean(0), ref.exact_grad(mu, sigma), atol=Z * 0.02)
    np.testing.assert_allclose(g.var(0), ref.score_variance(mu, sigma, 1.0), rtol=0.05)
    np.testing.assert_allclose((2 * x).var(0), ref.pathwise_variance(mu, sigma, 1.0), rtol=0.02)
    ratio = ref.score_variance(mu, sigma, 20.0).sum() / ref.pathwise_variance(mu, sigma, 20.0).sum()
    assert ratio == pytest.approx(17.375) and "about 17 times" in section
