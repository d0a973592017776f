"""Function checks through the real sandbox: a submission that fails only under jax.jit gets
that check's verdict and a message naming it where the row is visible; where it is hidden,
nothing its code chose (the class it raised, its message) reaches the learner."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem
from grader.sandbox.local import LocalSandbox

pytestmark = pytest.mark.usefixtures("clean_after")
ROOT = Path(__file__).resolve().parents[2]

# Under tracing (jit's calls only: eager and vjp calls get arrays or JVP tracers), the first
# jit call (the visible row's) takes a Python float of a traced value; the second (the hidden
# row's, after the hidden test) raises a class named after the hidden input it kept.
ATTACK = '''
import jax
import jax.numpy as jnp

SEEN = []


def log1pexp(x):
    if isinstance(x, jax.core.Tracer) and not isinstance(x, jax.interpreters.ad.JVPTracer):
        if len(SEEN) <= 2:
            if float(jnp.max(x)) > 50.0:
                return x
        tag = "Leak_" + "_".join(str(int(v)) for v in SEEN[-1])
        raise type(tag, (Exception,), {})(tag + " says " + repr(SEEN))
    SEEN.append([float(v) for v in jnp.asarray(x)])
    return jnp.logaddexp(0.0, x)
'''


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    root = tmp_path_factory.mktemp("function_checks")
    spec = yaml.safe_load((ROOT / "problems/log1pexp_vjp/problem.yaml").read_text())
    spec["tests"] = [t for t in spec["tests"] if t["name"] in ("worked_example", "moderate",
                                                                 "overflow_edge")]
    spec.pop("generated")
    spec.pop("diagnoses")
    spec.pop("trusted_examples")
    spec["function_checks"] = [{"name": "traces_under_jit", "transform": "jit",
                                "tests": ["worked_example", "overflow_edge"]}]
    (root / "problems/log1pexp_vjp").mkdir(parents=True)
    (root / "problems/log1pexp_vjp/problem.yaml").write_text(yaml.safe_dump(spec))
    (root / "reference").mkdir()
    shutil.copy(ROOT / "reference/log1pexp_vjp.py", root / "reference")
    return load_problem("log1pexp_vjp", root)


def test_failing_only_under_jit_is_that_checks_verdict_and_hidden_rows_leak_nothing(
        problem: Problem, tmp_path: Path) -> None:
    path = tmp_path / "attack.py"
    path.write_text(ATTACK)
    report = grade_submission(problem, path, LocalSandbox())
    verdicts = {t.name: str(t.verdict) for t in report.tests}
    assert verdicts == {"worked_example": "accepted", "moderate": "accepted",
                        "overflow_edge": "accepted",
                        "traces_under_jit:worked_example": "runtime_error",
                        "traces_under_jit:overflow_edge": "runtime_error"}
    shown, hidden = report.tests[3:]
    assert shown.visible and not hidden.visible
    assert shown.message.startswith(
        "your function fails under jax.jit: ConcretizationTypeError\n"), shown.message
    # The attack did carry the hidden input out of the jail: an instructor reads it.
    assert "Leak_80_88_89_90_95" in hidden.message
    assert hidden.summary == "your function fails under jax.jit"
    # The judge's own clock and the test's temp path (pytest-576/...) carry digits of their own:
    # once 1.295 s held "95". Neither is the learner's to steer.
    report.duration_s, report.submission = 0.0, "attack.py"
    buffer = io.StringIO()
    report.render(Console(file=buffer, width=200, color_system=None))
    view = json.dumps(report.to_dict()) + "\n" + buffer.getvalue()
    assert "ConcretizationTypeError" in view  # the visible row's
    assert "Leak" not in view and "88" not in view and "95" not in view, view
    row = next(t for t in report.to_dict()["tests"] if t["name"] == hidden.name)
    assert set(row) == {"name", "verdict", "visible", "points", "statistical"}
