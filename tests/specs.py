"""Problems the tests build: reinforce_grad with hidden tests whose inputs are easy to spot."""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.model.problems import Problem, load_problem

ROOT = Path(__file__).resolve().parents[1]

# A correct reinforce_grad under another name: attacks wrap it in their own function.
CORRECT = '''
import jax
import jax.numpy as jnp


def correct(seed, logits, reward_table, n_samples):
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                     shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(logits)
    return jnp.mean(reward_table[actions][:, None] * score, axis=0)
'''

# Hidden tests with inputs no visible test or statistic shares: a leak of any shows as one of
# these digit strings in what a learner reads.
HIDDEN_SPEC = """\
id: reinforce_grad
title: hidden-test attacks
function:
  name: reinforce_grad
  params:
    - {name: seed, kind: float}
    - {name: logits, kind: array, dtype: float32, shape: [K]}
    - {name: reward_table, kind: array, dtype: float32, shape: [K]}
    - {name: n_samples, kind: float}
  returns: {dtype: float32, shape: [K]}
limits: {time_per_test_s: 8, total_time_s: 40, startup_s: 15}
tolerance: {rtol: 1.0e-4, atol: 1.0e-6, atol_per_scale: 5.0e-5,
            scale: {arg: reward_table, reduce: max_abs}}
tests:
  - name: shown_first
    visible: true
    args: {seed: 0.0, logits: [0.0, 0.0], reward_table: [10.0, 0.0], n_samples: 1000.0}
  - name: secret_one
    args: {seed: 91.0, logits: [0.3141592, -0.2718281, 1.4142135],
           reward_table: [7.654321, -3.210987, 5.555123], n_samples: 1000.0}
  - name: shown_after_a_secret
    visible: true
    args: {seed: 1.0, logits: [1.0, 0.0, -1.0], reward_table: [1.0, 2.0, 3.0], n_samples: 1000.0}
  - name: secret_two
    args: {seed: 92.0, logits: [0.8660254, -1.7320508, 0.5772156],
           reward_table: [-6.0221407, 2.9979245, 9.1093837], n_samples: 1000.0}
statistics:
  - name: unbiased
    kind: mean_z
    args: {logits: [0.5, -0.5], reward_table: [1.0, -2.0], n_samples: 10.0}
    seeds: 20
    expectation: expectation
    variance: variance
"""
SECRET_DIGITS = ["3141592", "2718281", "4142135", "654321", "210987", "555123",
                 "8660254", "7320508", "5772156", "0221407", "9979245", "1093837", "91.0",
                 "92.0"]


def reinforce_problem(root: Path, spec: str) -> Problem:
    """`reinforce_grad` with the real reference under `root`, its tests as `spec` says."""
    (root / "problems" / "reinforce_grad").mkdir(parents=True)
    (root / "problems" / "reinforce_grad" / "problem.yaml").write_text(spec)
    (root / "problems" / "reinforce_grad" / "statement.md").write_text("attacks\n")
    (root / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "reinforce_grad.py", root / "reference")
    return load_problem("reinforce_grad", root)


def hidden_tests_problem(root: Path) -> Problem:
    """Two visible tests, two hidden ones between them, and one visible check."""
    return reinforce_problem(root, HIDDEN_SPEC)
