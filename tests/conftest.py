"""Suite-wide hooks: markers for the costly resources a test uses (see tests/markers.py; the
markers are registered in pyproject.toml), and the partitioning that lets pytest-xdist run the
suite on several workers at once."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.markers import classify

# pytest-xdist (make test runs `-n 3`): each worker is a process of its own, and every resource
# two concurrent tests could share is partitioned per worker. Jail uids here: worker gwN's jails
# (and the servers, graders and CLI runs it starts, which inherit the environment) use
# 60000 + 100 (N + 1) and up, so that one worker's RLIMIT_NPROC budget, kill-by-uid and leftover
# checks never meet another's jails, nor the Docker runner's uid 60000. Set before any grader
# module is imported (grader.sandbox.local reads it once). Ports come from the kernel (bind to
# port 0), temp folders from mkdtemp, cgroups and scratch folders carry the judge's pid, Docker
# runners carry a jaxjudge.pid label: all distinct per worker already. make test passes
# --dist loadfile: a module's tests run on one worker, in their order, so a module-scoped server
# or browser starts once and tests building on an earlier test's submissions keep that order.
# (Not loadgroup: with pytest 9, xdist 3.8's loadgroup silently groups nothing.)
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if WORKER.startswith("gw"):
    os.environ["JAXJUDGE_SANDBOX_UID"] = str(
        int(os.environ.get("JAXJUDGE_SANDBOX_UID") or 60_000) + 100 * (int(WORKER[2:]) + 1))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        callspec = getattr(item, "callspec", None)
        found = classify(getattr(item, "fixturenames", ()),
                         callspec.params if callspec is not None else {},
                         module.__name__ if module is not None else "")
        for name in sorted(found - {mark.name for mark in item.iter_markers()}):
            item.add_marker(name)


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, mode)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _alone(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[None]:
    """A test marked `alone` (it measures the whole host, e.g. its free memory) runs while no
    other xdist worker (of either session of make test) runs a test: it holds the run's lock
    exclusively, every other test holds it shared. The gate, taken briefly by both, keeps a
    waiting `alone` test from being starved by workers taking turns at the shared lock."""
    if not WORKER:
        yield
        return
    # The run's, shared by its workers; or, when make test runs two sessions side by side
    # (.ci/test-suite), the one both share.
    shared = os.environ.get("JAXJUDGE_TEST_LOCKS")
    folder = Path(shared) if shared else tmp_path_factory.getbasetemp().parent
    gate, lock = folder / "alone.gate", folder / "alone.lock"
    if request.node.get_closest_marker("alone") is not None:
        with _flock(gate, fcntl.LOCK_EX), _flock(lock, fcntl.LOCK_EX):
            yield
        return
    with _flock(gate, fcntl.LOCK_EX):
        held = lock.open("a")
        fcntl.flock(held, fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)
        held.close()
