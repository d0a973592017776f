"""A crash on one seed of a statistical check is that check's verdict, named by its seed."""

from __future__ import annotations

from pathlib import Path

from grader.judging.judge import grade_submission
from grader.model.problems import load_problem
from grader.sandbox.local import LocalSandbox
from grader.verdict import Verdict

LATE_CRASH = '''
import jax
import jax.numpy as jnp


def reinforce_grad(seed, logits, reward_table, n_samples):
    if int(seed) == 1_000_050:  # the 51st seed of the statistical checks, none of the tests'
        raise ValueError("seed fifty")
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                     shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(logits)
    return jnp.mean(reward_table[actions][:, None] * score, axis=0)
'''


def test_a_crash_after_good_seeds_fails_only_the_checks(tmp_path: Path, compile_cache: Path,
                                                        ) -> None:
    path = tmp_path / "late.py"
    path.write_text(LATE_CRASH)
    report = grade_submission(load_problem("reinforce_grad"), path,
                              LocalSandbox(compile_cache=compile_cache))
    fixed = [t for t in report.tests if not t.statistical]
    checks = [t for t in report.tests if t.statistical]
    assert all(t.verdict == Verdict.ACCEPTED for t in fixed)
    assert checks and all(t.verdict == Verdict.RUNTIME_ERROR for t in checks)
    assert all(t.message.startswith("seed 1000050: ") and "seed fifty" in t.message
               for t in checks), [t.message for t in checks]
    assert report.verdict == Verdict.RUNTIME_ERROR
