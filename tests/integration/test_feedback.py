"""Feedback for mistakes nobody wrote a diagnosis for: mutants of the reference and relations,
through the real sandbox; and no hint built from a hidden test holds a value of it."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from grader.data.expected import expected_outputs
from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem
from grader.model.report import Report
from grader.sandbox.local import LocalSandbox
from tests.specs import SECRET_DIGITS

ROOT = Path(__file__).resolve().parents[2]

# Slips no example in submissions/ makes, as a learner would write them.
SLIPS = {
    ("reinforce_grad", "flipped_sign"): '''
import jax, jax.numpy as jnp
def reinforce_grad(seed, logits, reward_table, n_samples):
    a = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits, shape=(int(n_samples),))
    score = jax.nn.one_hot(a, logits.shape[0]) - jax.nn.softmax(logits)
    return -jnp.mean(reward_table[a][:, None] * score, axis=0)
''',
    ("reparam_grad", "variance_for_sigma"): '''
import jax, jax.numpy as jnp
def reparam_grad(seed, mu, log_sigma, n_samples):
    eps = jax.random.normal(jax.random.PRNGKey(int(seed)), (int(n_samples), mu.shape[0]))
    sigma = jnp.exp(2 * log_sigma)
    x = mu + sigma * eps
    return jnp.stack([jnp.mean(2 * x, axis=0), jnp.mean(2 * x * eps * sigma, axis=0)])
''',
    ("reinforce_grad", "constant"): '''
import numpy as np
def reinforce_grad(seed, logits, reward_table, n_samples):
    return np.zeros(len(logits), dtype=np.float32) + np.float32(0.5)
''',
    # The log of the log-derivative trick forgotten: no mutant of the reference makes this
    # slip, one of the trusted example vmap_grad_log_softmax.py does.
    ("reinforce_grad", "grad_of_probability"): '''
import jax, jax.numpy as jnp
def reinforce_grad(seed, logits, reward_table, n_samples):
    a = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits, shape=(int(n_samples),))
    scores = jax.vmap(lambda ai: jax.grad(lambda l: jax.nn.softmax(l)[ai])(logits))(a)
    return jnp.mean(jnp.asarray(reward_table)[a][:, None] * scores, axis=0)
''',
}
# What each must read with the spec's diagnoses removed: the mutant's or the relation's words.
UNDIAGNOSED = {
    ("reinforce_grad", "sum_not_mean"): "with `sum` in place of `mean`",
    ("reinforce_grad", "raw_logits"): "with no `- jax.nn.softmax(logits)` term",
    ("reinforce_grad", "exact_gradient"): "Your result is the exact expectation",
    ("reinforce_baseline_grad", "no_baseline"): "with `r` in place of `r - baseline`",
    # Named by a mutant of the trusted example per_sample_closed_form.py before the relation
    # ("n_samples times the expected one", tests/unit/test_relations.py) is tried.
    ("reparam_grad", "returns_sum"):
        "a correct solution gives with `jnp.sum(jnp.sum(x ** 2, axis=1))` in place of",
    ("reinforce_grad", "flipped_sign"): "opposite sign",
    ("reparam_grad", "variance_for_sigma"): "with `sigma` squared",
    ("reinforce_grad", "constant"): "same result for tests whose inputs differ",
    ("reinforce_grad", "grad_of_probability"):
        "a correct solution gives with `jax.nn.softmax(lg)` in place of `jax.nn.log_softmax(lg)`",
}


@pytest.fixture(scope="module")
def slips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("slips")
    for (pid, stem), source in SLIPS.items():
        (folder / f"{pid}-{stem}.py").write_text(source)
    return folder


def undiagnosed(pid: str) -> Problem:
    """A shipped problem with its diagnoses cut off: only mutants and relations remain. Its spec
    file is the shipped one, so it shares the caches the shipped problem's grades fill (the
    expected outputs, trusted statistics and mutants do not depend on the diagnoses)."""
    problem = load_problem(pid)
    return replace(problem, spec=problem.spec.model_copy(update={"diagnoses": []}))


@pytest.mark.parametrize(("key", "hint"), UNDIAGNOSED.items(), ids=lambda k: str(k))
def test_an_undiagnosed_mistake_is_named(slips: Path, key: tuple[str, str], hint: str,
                                         warmed_for: Callable[[Problem], Path]) -> None:
    pid, stem = key
    problem = undiagnosed(pid)
    assert not problem.spec.diagnoses
    shipped = ROOT / "submissions" / pid / "wrong_answer" / f"{stem}.py"
    path = shipped if shipped.is_file() else slips / f"{pid}-{stem}.py"
    report = grade_submission(problem, path, LocalSandbox(compile_cache=warmed_for(problem)))
    assert report.verdict == "wrong_answer"
    assert any(hint in line for line in report.feedback), report.feedback


def test_an_instructors_diagnosis_wins_over_a_mutant(
        warmed_for: Callable[[Problem], Path]) -> None:
    problem = load_problem("reinforce_grad")
    report = grade_submission(problem, problem.submissions_dir / "wrong_answer" /
                              "sum_not_mean.py", LocalSandbox(compile_cache=warmed_for(problem)))
    assert report.feedback == ["Your estimate sums over the samples; the expectation is "
                               "estimated by their mean (divide by n_samples)."]


# A trusted example with a Python loop: its mutant `t = t` (the decrement's term dropped) never
# ends; `t > 1` (a unary minus dropped) stops before steps 0 and 1, a slip no mutant of the
# reference makes.
WHILE_LOOP = '''
import numpy as np
def discounted_returns(rewards, dones, gamma):
    n = len(rewards)
    out = np.zeros(n, dtype=np.float64)
    g = 0.0
    t = n - 1
    while t > -1:
        g = float(rewards[t]) + gamma * (1.0 - float(dones[t])) * g
        out[t] = g
        t = t - 1
    return out.astype(np.float32)
'''
STOPS_EARLY = '''
import numpy as np
def discounted_returns(rewards, dones, gamma):
    out = np.zeros(len(rewards), dtype=np.float32)
    g = 0.0
    for t in range(len(rewards) - 1, 1, -1):
        g = float(rewards[t]) + gamma * (1.0 - float(dones[t])) * g
        out[t] = g
    return out
'''
GRADE_BOUND_S = 300.0  # this test's own bound: a grade that hangs on a mutant fails it


def test_a_never_ending_mutant_does_not_hang_a_grade(tmp_path: Path) -> None:
    pid = "discounted_returns"
    shutil.copytree(ROOT / "problems" / pid, tmp_path / "problems" / pid)
    (tmp_path / "reference").mkdir()
    shutil.copy(ROOT / "reference" / f"{pid}.py", tmp_path / "reference")
    (tmp_path / "submissions" / pid / "accepted").mkdir(parents=True)
    (tmp_path / "submissions" / pid / "accepted" / "while_loop.py").write_text(WHILE_LOOP)
    spec = tmp_path / "problems" / pid / "problem.yaml"
    text = re.sub(r"\ndiagnoses:\n(  .*\n)+", "\n", spec.read_text())
    text = re.sub(r"\nlimits: \{time_per_test_s: 20, total_time_s: 120,",
                  "\nlimits: {time_per_test_s: 5, total_time_s: 30,", text)
    text = re.sub(r"\ntrusted_examples:\n(  .*\n)+",
                  "\ntrusted_examples: [accepted/while_loop.py]\n", text)
    spec.write_text(text)
    problem = load_problem(pid, tmp_path)
    assert problem.spec.trusted_examples == ["accepted/while_loop.py"]
    assert not problem.spec.diagnoses and problem.spec.limits.time_per_test_s == 5
    path = tmp_path / "stops_early.py"
    path.write_text(STOPS_EARLY)
    graded: list[Report] = []
    thread = threading.Thread(target=lambda: graded.append(
        grade_submission(problem, path, LocalSandbox())), daemon=True)
    thread.start()
    thread.join(GRADE_BOUND_S)
    assert graded, f"the grade did not end within {GRADE_BOUND_S} s"
    assert graded[0].verdict == "wrong_answer"
    assert graded[0].feedback == [
        "Your result is what a correct solution gives with `1` in place of `-1`."]


# Against the hidden-tests problem: wrong (or silent) on hidden tests only, recognised by their
# seeds (91 and 92), which a visible test never has. A hint comes from verdicts and visible
# outputs alone: one built on a hidden output (even a clean factor) would tell the learner
# something their code computed from the hidden inputs, so none names a factor here.
HIDDEN_SLIPS = {
    "hard_coded": ("return (estimate if seed < 50 else estimate * 0 + 0.123).astype(jnp.float32)",
                   "right on every visible test and wrong on every hidden one"),
    "ugly_factor_hidden_only": ("assert seed > 50\n    return estimate * 3.141592", ""),
    "clean_factor_hidden_only": ("assert seed > 50\n    return estimate * 2", ""),
    "echoes_hidden_inputs": ("return estimate if seed < 50 else jnp.asarray(logits) * 1.5",
                             ""),
}
TEMPLATE = '''
import jax, jax.numpy as jnp
def reinforce_grad(seed, logits, reward_table, n_samples):
    a = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits, shape=(int(n_samples),))
    score = jax.nn.one_hot(a, logits.shape[0]) - jax.nn.softmax(logits)
    estimate = jnp.mean(jnp.asarray(reward_table)[a][:, None] * score, axis=0)
    {body}
'''


def _figures(a: np.ndarray) -> list[str]:
    """How a value of the array could be written: a few significant figures of each element."""
    written = {f"{x:.{k}g}" for x in np.asarray(a, np.float64).ravel() for k in (3, 4)}
    return [w for w in written if sum(c.isdigit() for c in w) >= 3]  # "2" is in clean hints


@pytest.mark.parametrize("name", HIDDEN_SLIPS)
def test_no_hint_holds_a_value_of_a_hidden_test(hidden_problem: Problem, tmp_path: Path,
                                                name: str, compile_cache: Path) -> None:
    body, hint = HIDDEN_SLIPS[name]
    path = tmp_path / f"{name}.py"
    path.write_text(TEMPLATE.format(body=body))
    report = grade_submission(hidden_problem, path, LocalSandbox(compile_cache=compile_cache))
    assert report.verdict != "accepted"
    text = "\n".join(report.to_dict()["feedback"])
    if hint:
        assert hint in text, text
    assert "times the expected" not in text, text  # no factor seen on hidden tests alone
    hidden = [i for i, c in enumerate(hidden_problem.tests) if not c.visible]
    secrets = [*SECRET_DIGITS, "3.14", "1.57"]
    for i in hidden:
        want = expected_outputs(hidden_problem)[i]
        secrets += _figures(want) + _figures(want * 3.141592) + _figures(want * 2)
        secrets += [hidden_problem.tests[i].name, f"test {i}", f"#{i}"]
    leaked = [s for s in secrets if s in text]
    assert leaked == [], (leaked, text)
