"""The example corpus: every example under submissions/ gets its folder's verdict through the
real sandbox, walked by the test_corpus_<part>.py modules, one per part of PARTS.

The corpus is split so that pytest-xdist (`--dist loadfile`: a module runs on one worker) spreads
it over the workers: one module held a third of the suite's test time on one worker.
tests/integration/test_corpus.py checks that every problem with examples is in exactly one part.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem
from grader.sandbox.local import LocalSandbox
from grader.sandbox.protocol import Sandbox
from grader.verdict import Verdict
from tests.integration.backends import local_all_docker_some

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "submissions").glob("*/*/*.py"))

# Problems by the module that walks their examples: of about equal cost (grades, each problem's
# diagnosis examples, new shapes to compile), not by track.
PARTS = {
    "reinforce": ["reinforce_grad", "reinforce_baseline_grad", "reparam_grad",
                  "control_variate_grad"],
    "sampling": ["bernoulli_score_grad", "gumbel_max_sample", "gumbel_softmax_sample",
                 "straight_through_gumbel", "antithetic_reparam_grad"],
    "core": ["hvp_given", "adam_step", "log1pexp_vjp", "per_example_grads",
             "rao_blackwell_reinforce"],
    "policy": ["policy_gradient_rtg", "gae_advantages", "discounted_returns",
               "ppo_clip_objective", "iwae_bound", "score_vs_pathwise"],
}


def name_of(path: Path) -> str:
    return "/".join(path.parts[-3:])


# Under Docker (see tests/integration/backends.py): one example of each verdict, the accepted
# ones of problems whose files or checks reach the container another way, and an import failure
# (the runner image's packages are not the host's). Another problem's accepted example runs the
# same runner on other numbers: two such (reinforce_baseline_grad's and reparam_grad's, 400 and
# 100 seeds of checks) cost the Docker session 46 s of a run and enforced nothing new.
UNDER_DOCKER = {"reinforce_grad/accepted/vmap_grad_log_softmax.py",
                "hvp_given/accepted/jvp_of_grad.py",  # given.py mounted in the container
                "log1pexp_vjp/accepted/logaddexp.py",  # function checks in the container
                # several entries, sequences, trees and a jit check of one entry in the container
                "adam_step/runtime_error/python_int_count.py",
                "reinforce_grad/compile_error/syntax_error.py",
                "reinforce_grad/compile_error/import_failure.py",
                "reinforce_grad/memory_limit_exceeded/huge_allocation.py",
                "reinforce_grad/output_limit_exceeded/returns_samples_table.py",
                "reinforce_grad/runtime_error/index_error.py",
                "reinforce_grad/time_limit_exceeded/endless_loop.py",
                "reinforce_grad/wrong_answer/raw_logits.py"}


def corpus_params(part: str) -> list[object]:
    """The examples of PARTS[part]'s problems: each on bubblewrap, UNDER_DOCKER's on Docker too."""
    examples = [p for p in EXAMPLES if p.parent.parent.name in PARTS[part]]
    return local_all_docker_some(examples, [p for p in examples if name_of(p) in UNDER_DOCKER],
                                 ids=name_of)


def check_example(path: Path, sandbox: Sandbox, warmed_for: Callable[[Problem], Path]) -> None:
    problem_id, verdict = path.parent.parent.name, path.parent.name
    problem = load_problem(problem_id)
    if isinstance(sandbox, LocalSandbox):
        # The jail reads a cache warmed from the problem's trusted code, as a grader's jails do:
        # each example would otherwise compile the problem's programs again (~6 s of CPU per
        # example). Not under Docker, which grades one or two examples of a problem: warming
        # would cost more than it saves there (CI19: the docker corpus took 239 s, not 125).
        sandbox = copy.copy(sandbox)
        sandbox.compile_cache = warmed_for(problem)
    if verdict == "time_limit_exceeded":
        # An endless loop exceeds any limit: 4 s proves the verdict as well as the problem's 20,
        # without burning 16 more seconds of a core per backend.
        limits = problem.spec.limits.model_copy(update={"time_per_test_s": 4.0})
        problem = replace(problem, spec=problem.spec.model_copy(update={"limits": limits}))
    report = grade_submission(problem, path, sandbox)
    assert str(report.verdict) == verdict, [t.to_dict() for t in report.tests][:2]
    checks = [t for t in report.tests if t.statistical]
    if verdict == "accepted":
        assert report.score == 1.0
        assert report.feedback == []
    else:
        assert report.score < 1.0
    name = f"{problem_id}/{path.stem}"
    if name in BIASED:
        # The statistical checks alone reject it, whatever the fixed-seed tests say.
        assert any(t.verdict == Verdict.WRONG_ANSWER for t in checks), \
            [t.message for t in checks]
    if name in FEEDBACK:
        assert any(FEEDBACK[name] in line for line in report.feedback), report.feedback
    if name == "reinforce_grad/split_keys":
        assert all(t.verdict == Verdict.ACCEPTED for t in checks)


# Estimators whose distribution is wrong (bias, scale, no noise, no baseline), not just samples.
BIASED = {"reinforce_grad/raw_logits", "reinforce_grad/missing_reward",
          "reinforce_grad/sum_not_mean", "reinforce_grad/exact_gradient",
          "reinforce_grad/per_sample_not_averaged",
          "reinforce_baseline_grad/mean_including_self", "reinforce_baseline_grad/no_baseline",
          "reinforce_baseline_grad/exact_gradient",
          "reparam_grad/missing_exp_chain_rule", "reparam_grad/returns_sum",
          "bernoulli_score_grad/raw_logit_score", "bernoulli_score_grad/missing_reward",
          "bernoulli_score_grad/exact_gradient", "bernoulli_score_grad/sum_not_mean",
          "gumbel_softmax_sample/temperature_on_logits_only", "gumbel_softmax_sample/hard_argmax",
          "gumbel_softmax_sample/softmax_over_samples",
          "antithetic_reparam_grad/pairs_not_halved", "antithetic_reparam_grad/mirror_around_zero",
          "antithetic_reparam_grad/independent_halves",
          "iwae_bound/missing_log_k", "iwae_bound/missing_jacobian", "iwae_bound/grads_of_loss",
          "gumbel_max_sample/noise_on_probabilities",
          "control_variate_grad/centred_by_sample_mean",
          "control_variate_grad/added_not_subtracted",
          "rao_blackwell_reinforce/exact_not_weighted",
          "rao_blackwell_reinforce/sampled_not_scaled",
          "rao_blackwell_reinforce/remainder_score",
          "score_vs_pathwise/score_without_sigma_squared", "score_vs_pathwise/score_is_pathwise",
          "score_vs_pathwise/sums_not_means"}
# What a learner who made the example's mistake must read in the feedback.
FEEDBACK = {
    "reinforce_grad/raw_logits": "log p(a) is log_softmax(logits)[a]",
    "reinforce_grad/split_keys": "statistically sound (every check over many seeds passes) but "
                                 "draws different samples",
    "reinforce_grad/grad_wrt_integer_actions": "jax.grad differentiates only with respect to "
                                               "float inputs",
    "reinforce_grad/int_of_traced_value": "int() or a Python if/range ran on a traced value",
    "reinforce_grad/float_seed": "jax.random.PRNGKey(int(seed))",
    "reinforce_grad/missing_reward": "multiplied by its reward",
    "reinforce_grad/sum_not_mean": "sums over the samples",
    "reinforce_grad/exact_gradient": "You return the exact gradient",
    "reinforce_grad/float64_output": "Your result is float64",
    "reinforce_baseline_grad/mean_including_self": "including the sample itself",
    "reinforce_baseline_grad/no_baseline": "plain REINFORCE",
    "reparam_grad/missing_exp_chain_rule": "chain rule through sigma",
    "reparam_grad/returns_sum": "sums over the samples",
    "discounted_returns/no_reset": "carry rewards across episode ends",
    "discounted_returns/done_off_by_one": "one step late",
    "discounted_returns/forward_accumulation": "accumulate forward in time",
    "ppo_clip_objective/clip_advantage": "You clip the advantage",
    "ppo_clip_objective/max_not_min": "the larger of the two surrogates",
    "ppo_clip_objective/ratio_from_prob_difference": "a difference of probabilities",
    "ppo_clip_objective/ignores_reduction": "You average whatever `reduction` says",
    "per_example_grads/batch_mean_broadcast": "gradient of the batch-mean loss",
    "per_example_grads/missing_sign": "the wrong sign",
    "per_example_grads/summed_over_batch": "one gradient of the summed loss",
    "hvp_given/jvp_primal_output": "You return the gradient of f at x",
    "hvp_given/hessian_diagonal": "by the Hessian's diagonal only",
    "hvp_given/finite_differences": "finite differences of the gradient",
    "bernoulli_score_grad/raw_logit_score": "whose gradient is b - sigmoid(logits)",
    "bernoulli_score_grad/missing_reward": "multiplied by its reward f(b)",
    "bernoulli_score_grad/exact_gradient": "You return the exact gradient",
    "bernoulli_score_grad/sum_not_mean": "sums over the samples",
    "gae_advantages/bootstrap_across_done": "bootstraps from values[t + 1] where step t ends",
    "gae_advantages/lambda_in_td_error": "discounts the bootstrap value by gamma * lam",
    "gae_advantages/no_reset_in_recursion": "Your advantages carry across episode ends",
    "policy_gradient_rtg/full_episode_return": "its episode's whole return",
    "policy_gradient_rtg/mean_over_steps": "You average over time steps",
    "policy_gradient_rtg/raw_logit_score": "the gradient of theta[s, a] alone",
    "adam_step/no_bias_correction": "You step with the raw moving averages",
    "adam_step/corrected_moments_in_state": "holds the bias-corrected m_hat and v_hat",
    "adam_step/eps_inside_sqrt": "You put eps under the square root",
    "log1pexp_vjp/naive": "jnp.log(1 + jnp.exp(x)) overflows",
    "log1pexp_vjp/naive_sigmoid_backward": "your backward pass computes exp(x) / (1 + exp(x))",
    "log1pexp_vjp/backward_ignores_cotangent": "must return the cotangent pulled back",
    "gumbel_softmax_sample/temperature_on_logits_only": "You divide only the logits by tau",
    "gumbel_softmax_sample/hard_argmax": "You return the hard one-hot",
    "gumbel_softmax_sample/softmax_over_samples": "Your softmax runs over the samples",
    "antithetic_reparam_grad/pairs_not_halved": "the mean of its two halves",
    "antithetic_reparam_grad/mirror_around_zero": "reflected about the mean mu",
    "antithetic_reparam_grad/independent_halves": "The second half of each pair is a fresh sample",
    "iwae_bound/elbo_not_iwae": "You average the log-weights (the ELBO)",
    "iwae_bound/missing_log_k": "without dividing the sum by n_samples",
    "iwae_bound/missing_jacobian": "misses the -sum(log_sigma) term",
    "iwae_bound/grads_of_loss": "Your grads is the expected one with the opposite sign",
    "score_vs_pathwise/score_without_sigma_squared": "uses (x - mu) as the score",
    "score_vs_pathwise/score_is_pathwise": "returns the pathwise (reparameterised) estimate",
    "score_vs_pathwise/sums_not_means": "sum over the samples",
    "gumbel_max_sample/noise_on_probabilities": "You add the Gumbel noise to softmax(logits)",
    "gumbel_max_sample/one_noise_row": "Your n samples share one noise vector",
    "gumbel_max_sample/exponential_noise": "exponential rather than Gumbel",
    "straight_through_gumbel/hard_no_straight_through": "with no straight-through estimator",
    "straight_through_gumbel/stop_gradient_on_wrong_term": "Your stop_gradient is on the wrong",
    "straight_through_gumbel/temperature_not_in_gradient": "without the temperature",
    "control_variate_grad/reward_covariance": "regresses the reward R(a) on the score h",
    "control_variate_grad/centred_by_sample_mean": "your estimate is plain REINFORCE",
    "control_variate_grad/added_not_subtracted": "You add the control variate term",
    "rao_blackwell_reinforce/exact_not_weighted": "weight each by its probability",
    "rao_blackwell_reinforce/sampled_not_scaled": "not scaled by the remainder's probability",
    "rao_blackwell_reinforce/remainder_score": "the score of the renormalised remainder",
    # No diagnosis names these two: a relation between got and expected does.
    "reinforce_grad/per_sample_not_averaged": "one row per sample",
    "reinforce_baseline_grad/exact_gradient": "Your result is the exact expectation",
}
