"""Problems the tests build: reinforce_grad with hidden tests whose inputs are easy to spot."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.errors import SpecError
from grader.model.problems import Problem, load_problem
from grader.model.spec import ProblemSpec, load_spec

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


# --- every value kind (issue 20): a tree in, a tuple (value, tree, ...) out, a key, a bool, a
# choice, an int that binds a dim, and a "T+1" dim. Tiny shapes: one XLA compile each.
VALUES_SPEC = """\
id: tree_step
title: every value kind
function:
  name: tree_step
  params:
    - {name: params, kind: tree, leaves: {w: {dtype: float32, shape: [D, H]},
                                          b: {dtype: float32, shape: [H]}}}
    - {name: key, kind: key}
    - {name: hard, kind: bool}
    - {name: reduction, kind: choice, values: [mean, sum]}
    - {name: n, kind: int, binds: N}
    - {name: values, kind: array, dtype: float32, shape: ["T+1"]}
    - {name: rewards, kind: array, dtype: float32, shape: [T]}
  returns: {kind: tuple, items: [{name: value, dtype: float32, shape: []},
                                 {name: grads, kind: tree, like: params},
                                 {name: per_sample, dtype: float32, shape: [N]},
                                 {name: td, dtype: float32, shape: [T]}]}
limits: {time_per_test_s: 20, total_time_s: 60, startup_s: 20}
tolerance: {rtol: 1.0e-4, atol: 1.0e-5, per_output: {value: {atol: 1.0e-4}}}
tests:
  - name: shown
    visible: true
    args: {params: {w: [[1.0, -0.5], [0.25, 2.0]], b: [0.5, -1.0]}, key: 0, hard: true,
           reduction: mean, n: 3, values: [1.0, 0.5, 2.0], rewards: [1.0, -1.0]}
  - name: summed
    visible: true
    args: {params: {w: [[0.5, 1.5], [-1.0, 0.75]], b: [0.0, 0.25]}, key: 7, hard: false,
           reduction: sum, n: 3, values: [0.0, 1.0, -1.0], rewards: [2.0, 0.5]}
generated:
  - name: drawn
    count: 2
    seed: 5
    sizes: {D: [2], H: [2], T: [2]}
    args:
      params: {dist: normal}
      key: {dist: int_range, low: 0, high: 1000}
      hard: {dist: pick}
      reduction: {dist: pick}
      n: {value: 3}
      values: {dist: uniform, low: -1.0, high: 1.0}
      rewards: {dist: normal}
statistics:
  - name: mean_square
    kind: mean_z
    output: value
    seed_param: key
    seeds: 20
    args: {params: {w: [[1.0, -0.5], [0.25, 2.0]], b: [0.5, -1.0]}, hard: false,
           reduction: mean, n: 3, values: [0.0, 0.0, 0.0], rewards: [0.0, 0.0]}
    expectation: expected_value
  - name: per_sample_nonnegative
    kind: invariant_nonnegative
    output: per_sample
    seed_param: key
    seeds: 20
    args: {params: {w: [[1.0, -0.5], [0.25, 2.0]], b: [0.5, -1.0]}, hard: false,
           reduction: mean, n: 3, values: [0.0, 0.0, 0.0], rewards: [0.0, 0.0]}
show_reference_after_accepted: true
"""

VALUES_REFERENCE = '''
import jax
import jax.numpy as jnp


def tree_step(params, key, hard, reduction, n, values, rewards):
    x = jax.random.normal(key, (n, params["w"].shape[0]))

    def losses(p):
        h = x @ p["w"] + p["b"]
        if hard:
            h = jnp.maximum(h, 0.0)
        return jnp.sum(h**2, axis=1)

    def loss(p):
        per = losses(p)
        return jnp.mean(per) if reduction == "mean" else jnp.sum(per)

    value, grads = jax.value_and_grad(loss)(params)
    td = rewards + values[1:] - values[:-1]
    return value, grads, losses(params), td


def expected_value(params, hard, reduction, n, values, rewards):
    """E|xW + b|^2 for x ~ N(0, I), the mean over samples (hard=False, reduction=mean)."""
    w, b = params["w"], params["b"]
    return jnp.sum(w**2) + jnp.sum(b**2)
'''

# Each example: (folder, file stem, source, words its test message must hold).
VALUES_EXAMPLES = [
    ("accepted", "reference_copy", VALUES_REFERENCE, ""),
    ("accepted", "list_and_jnp_leaves", VALUES_REFERENCE.replace(
        "return value, grads, losses(params), td",
        "return [value, {'b': grads['b'], 'w': grads['w']}, losses(params), td]"), ""),
    ("wrong_answer", "two_items", VALUES_REFERENCE.replace(
        "return value, grads, losses(params), td", "return value, grads"),
     "expected a tuple (value, grads, per_sample, td) of 4 items; got a tuple of 2 items"),
    ("wrong_answer", "stacked", VALUES_REFERENCE.replace(
        "return value, grads, losses(params), td",
        "return jnp.stack([value, value, value])"),
     "expected a tuple (value, grads, per_sample, td); got one array"),
    ("wrong_answer", "doubled_bias_grad", VALUES_REFERENCE.replace(
        "return value, grads, losses(params), td",
        "return value, {'w': grads['w'], 'b': 2 * grads['b']}, losses(params), td"),
     "grads.b:"),
    ("wrong_answer", "half_precision_leaf", VALUES_REFERENCE.replace(
        "return value, grads, losses(params), td",
        "return value, {'w': grads['w'].astype(jnp.float16), 'b': grads['b']}, "
        "losses(params), td"),
     "grads.w: returned dtype float16, expected float32"),
    ("wrong_answer", "missing_leaf", VALUES_REFERENCE.replace(
        "return value, grads, losses(params), td",
        "return value, {'w': grads['w']}, losses(params), td"),
     "grads: expected a dict with keys ['b', 'w']; missing ['b']"),
]


def values_problem(root: Path) -> Problem:
    """`tree_step` under `root`: spec, statement, reference and its examples by verdict."""
    folder = root / "problems" / "tree_step"
    folder.mkdir(parents=True)
    (folder / "problem.yaml").write_text(VALUES_SPEC)
    (folder / "statement.md").write_text("Every value kind.\n")
    (root / "reference").mkdir(exist_ok=True)
    (root / "reference" / "tree_step.py").write_text(VALUES_REFERENCE)
    for verdict, stem, source, _ in VALUES_EXAMPLES:
        (root / "submissions" / "tree_step" / verdict).mkdir(parents=True, exist_ok=True)
        (root / "submissions" / "tree_step" / verdict / f"{stem}.py").write_text(source)
    return load_problem("tree_step", root)


def edited_spec(tmp_path: Path, problem_id: str, edit: Callable[[dict[str, Any]], object],
                ) -> ProblemSpec:
    """A shipped problem's spec, its YAML changed by `edit` in place, loaded from tmp_path."""
    source = Path(__file__).resolve().parents[1] / "problems" / problem_id / "problem.yaml"
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / problem_id / "problem.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_spec(path)


def refusal(tmp_path: Path, problem_id: str, edit: Callable[[dict[str, Any]], object],
            ) -> SpecError:
    """The SpecError the edited spec must raise, which names its file."""
    with pytest.raises(SpecError) as info:
        edited_spec(tmp_path, problem_id, edit)
    assert info.value.path.endswith(f"{problem_id}/problem.yaml")
    return info.value
