"""`kind: callable` through the real bubblewrap sandbox: the jail's given.py is a read-only
copy loaded before the learner's code, the calls get the functions resolved then, and only the
declared names resolve at all. Expected outputs never come from the jail: the judge runs the
reference on its own given.py."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from grader.data.expected import expected_outputs
from grader.judging.execution import make_job, run_calls
from grader.judging.judge import grade_submission
from grader.model.given import GivenName
from grader.model.problems import Problem, load_problem
from grader.sandbox.local import LocalSandbox
from grader.verdict import Verdict

pytestmark = pytest.mark.usefixtures("clean_after")
ROOT = Path(__file__).resolve().parents[2]

# Every call rebinds the given module's names to a zero function and tries to rewrite its file,
# then answers correctly with the function it was handed: were later calls resolved through the
# module (or the file read again), they would differentiate zero and fail.
TAMPER = '''
import sys
import jax


def hvp(f, x, v):
    given = sys.modules["given"]
    for name in ("quadratic", "rosenbrock", "log_sum_exp"):
        setattr(given, name, lambda y: 0.0 * y.sum())
    try:
        with open(given.__file__, "w") as out:
            out.write("def quadratic(x):\\n    return 0.0 * x.sum()\\n")
    except OSError:
        pass
    return jax.jvp(jax.grad(f), (x,), (v,))[1]
'''

# What a call receives: 1 for a function, 2 for anything else (a module, a string).
PROBE = '''
import types
import jax.numpy as jnp


def hvp(f, x, v):
    return jnp.full_like(x, 1.0 if isinstance(f, types.FunctionType) else 2.0)
'''


@pytest.fixture
def problem() -> Problem:
    return load_problem("hvp_given")


def test_tampering_with_given_changes_neither_later_calls_nor_expected_outputs(
        problem: Problem, tmp_path: Path) -> None:
    assert problem.given_path is not None
    before = hashlib.sha256(problem.given_path.read_bytes()).hexdigest()
    want = expected_outputs(problem)
    path = tmp_path / "tamper.py"
    path.write_text(TAMPER)
    report = grade_submission(problem, path, LocalSandbox())
    assert report.verdict == Verdict.ACCEPTED, [t.message for t in report.tests]
    # The judge's expected outputs (computed outside the jail, on its own given.py) and the
    # problem's file are what they were.
    assert hashlib.sha256(problem.given_path.read_bytes()).hexdigest() == before
    for a, b in zip(expected_outputs(problem), want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_only_a_declared_choice_resolves_in_the_jail(problem: Problem, tmp_path: Path) -> None:
    """A call naming `jnp` (which given.py imports) or `rosenbrock` (defined there, but not a
    choice of this job) must not reach the learner's function as anything."""
    path = tmp_path / "probe.py"
    path.write_text(PROBE)
    x = np.ones(2, np.float32)
    calls = [{"f": GivenName(name), "x": x, "v": x} for name in ("quadratic", "jnp")]
    job = dataclasses.replace(make_job(problem, path, calls), given_names=("quadratic",))
    run = run_calls(LocalSandbox(), job)
    assert run.ready
    assert set(run.outcomes) == {0}, {i: o.array for i, o in run.outcomes.items()}
    np.testing.assert_array_equal(run.outcomes[0].array, [1.0, 1.0])
    assert run.stop is not None and run.stop.verdict == Verdict.RUNTIME_ERROR
    calls[1] = {"f": GivenName("rosenbrock"), "x": x, "v": x}
    run = run_calls(LocalSandbox(), dataclasses.replace(job, tests=calls))
    assert set(run.outcomes) == {0}, {i: o.array for i, o in run.outcomes.items()}


def test_uid_mode_stages_given_from_a_tree_only_root_may_enter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clone under /root or mktemp -d: the jail's uid cannot open given.py where it lies, so
    uid mode stages a copy into the jail's private scratch, as it does the runner."""
    from tests.integration.test_limits import uid_mode

    uid_mode(monkeypatch)
    root = tmp_path / "closed"
    (root / "problems").mkdir(parents=True)
    (root / "reference").mkdir()
    shutil.copytree(ROOT / "problems" / "hvp_given", root / "problems" / "hvp_given")
    shutil.copy(ROOT / "reference" / "hvp_given.py", root / "reference")
    root.chmod(0o700)
    problem = load_problem("hvp_given", root)
    path = tmp_path / "readable" / "jvp.py"
    path.parent.mkdir()
    path.parent.chmod(0o755)
    shutil.copy(ROOT / "submissions" / "hvp_given" / "accepted" / "jvp_of_grad.py", path)
    path.chmod(0o644)
    report = grade_submission(problem, path, LocalSandbox())
    assert report.verdict == Verdict.ACCEPTED, [t.message for t in report.tests]
