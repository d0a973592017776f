"""Integration fixtures: the real bubblewrap sandbox and a problem copy with tight limits."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.docker_sandbox import DockerSandbox
from grader.problems import Problem, load_problem
from grader.sandbox import SANDBOX_UID, LocalSandbox, Sandbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def _needs_bwrap() -> None:
    if shutil.which("bwrap") is None:
        pytest.fail("integration tests need bubblewrap: run 'make setup'")


@pytest.fixture(scope="session")
def docker_sandbox() -> DockerSandbox:
    """The real engine and the runner image, which .ci/run builds; absent is a failure."""
    return DockerSandbox()


@pytest.fixture(params=["local", "docker"])
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Each backend in turn: the judge must give the same verdicts through both."""
    if request.param == "docker":
        return request.getfixturevalue("docker_sandbox")  # type: ignore[no-any-return]
    return LocalSandbox()


@pytest.fixture(scope="session")
def fast_problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    """reinforce_grad with 3 visible tests and limits tight enough for hostile tests."""
    root = tmp_path_factory.mktemp("root")
    shutil.copytree(ROOT / "problems" / "reinforce_grad", root / "problems" / "reinforce_grad")
    (root / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "reinforce_grad.py", root / "reference")
    spec = root / "problems" / "reinforce_grad" / "problem.yaml"
    text = spec.read_text().replace(
        "limits: {time_per_test_s: 20, total_time_s: 120, memory_mb: 3072}",
        "limits: {time_per_test_s: 8, total_time_s: 40, memory_mb: 3072, startup_s: 15}")
    text = text.split("  - name: single_action")[0]  # keep the visible tests only
    spec.write_text(text)
    return load_problem("reinforce_grad", root)


JAIL_UIDS = range(SANDBOX_UID, SANDBOX_UID + 64)  # batch mode gives each slot its own


def sandbox_leftovers() -> list[str]:
    """Processes running as a sandbox uid, and files one owns under /tmp."""
    procs = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if d.stat().st_uid in JAIL_UIDS:
                    procs.append(f"pid {d.name}")
            except FileNotFoundError:
                continue
    files = []
    for dirpath, _, names in os.walk("/tmp"):
        for n in names:
            p = Path(dirpath) / n
            try:
                if p.lstat().st_uid in JAIL_UIDS:
                    files.append(str(p))
            except FileNotFoundError:
                continue
    return procs + files


@pytest.fixture
def clean_after() -> Iterator[None]:
    yield
    assert sandbox_leftovers() == []


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


@pytest.fixture(scope="session")
def hidden_problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    """Two visible tests, two hidden ones between them, and one visible check."""
    root = tmp_path_factory.mktemp("hidden")
    (root / "problems" / "reinforce_grad").mkdir(parents=True)
    (root / "problems" / "reinforce_grad" / "problem.yaml").write_text(HIDDEN_SPEC)
    (root / "problems" / "reinforce_grad" / "statement.md").write_text("attacks\n")
    (root / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "reinforce_grad.py", root / "reference")
    return load_problem("reinforce_grad", root)
