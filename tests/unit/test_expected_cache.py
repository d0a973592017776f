"""The expected-output cache: reused when nothing changed, recomputed when the spec changes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.data.cache import EXPECTED, folder
from grader.data.expected import expected_outputs, reference_output
from grader.model.problems import load_problem

ROOT = Path(__file__).resolve().parents[2]


def test_cache_round_trip_and_invalidation(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shutil.copytree(ROOT / "problems" / "reparam_grad", tmp_path / "problems" / "reparam_grad")
    (tmp_path / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "reparam_grad.py", tmp_path / "reference")
    problem = load_problem("reparam_grad", tmp_path)
    first = expected_outputs(problem)
    files = list(folder(EXPECTED).glob("reparam_grad-*.npz"))
    assert len(files) == 1
    for got, case in zip(first, problem.tests, strict=True):
        np.testing.assert_array_equal(got, reference_output(problem, case))
    # Poison the cached file: a hit must return exactly what is stored, proving it was read.
    pairs = zip(problem.tests, first, strict=True)
    poisoned: dict[str, Any] = {c.name: np.full_like(o, 7.0) for c, o in pairs}
    np.savez(files[0], **poisoned)
    assert all(np.all(o == 7.0) for o in expected_outputs(problem))
    # Changing the spec changes the key, so the stale file is ignored.
    spec = tmp_path / "problems" / "reparam_grad" / "problem.yaml"
    spec.write_text(spec.read_text().replace("title: Reparameterisation", "title: The reparam"))
    fresh = expected_outputs(load_problem("reparam_grad", tmp_path))
    assert not any(np.all(o == 7.0) for o in fresh)
    assert len(list(folder(EXPECTED).glob("reparam_grad-*.npz"))) == 2
