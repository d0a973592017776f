"""jaxjudge verify grades the example corpus and fails on a misfiled example."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_verify_fails_on_a_misfiled_example(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "problems" / "reparam_grad", tmp_path / "problems" / "reparam_grad")
    (tmp_path / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "reparam_grad.py", tmp_path / "reference")
    good = ROOT / "submissions" / "reparam_grad" / "accepted" / "per_sample_closed_form.py"
    wrong = ROOT / "submissions" / "reparam_grad" / "wrong_answer" / "returns_sum.py"
    # The wrong answers stay too: the spec's diagnoses name them.
    shutil.copytree(wrong.parent, tmp_path / "submissions" / "reparam_grad" / "wrong_answer")
    for folder, src in [("accepted", good), ("accepted", wrong)]:
        (tmp_path / "submissions" / "reparam_grad" / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, tmp_path / "submissions" / "reparam_grad" / folder)
    # Only the accepted example copied here is the staff's trusted one (warm runs it).
    spec = tmp_path / "problems" / "reparam_grad" / "problem.yaml"
    text = spec.read_text().replace("  - accepted/grad_of_surrogate.py\n", "")
    # One generated test instead of 6 (each of a new size: a compile in every example's jail):
    # what verify does with a misfiled example does not depend on how many tests there are.
    assert "    count: 6\n" in text
    spec.write_text(text.replace("    count: 6\n", "    count: 1\n"))
    monkeypatch.setenv("JAXJUDGE_ROOT", str(tmp_path))
    # verify warms the caches: never the user's own.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("JAXJUDGE_COMPILE_CACHE", str(tmp_path / "xla"))
    assert main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "4 examples graded" in out
    assert "separation per fixed-seed test" in out
    assert "accepted/returns_sum.py: got wrong_answer, its folder says accepted" in out
    assert "per_sample_closed_form" not in out

    (tmp_path / "submissions" / "reparam_grad" / "accepted" / "returns_sum.py").unlink()
    assert main(["verify"]) == 0

    # A diagnosis naming an example that is not there fails verification, even one that grades
    # no example.
    (tmp_path / "submissions" / "reparam_grad" / "wrong_answer" / "returns_sum.py").unlink()
    capsys.readouterr()
    assert main(["verify", "--skip-examples"]) == 1
    assert "diagnoses names 'wrong_answer/returns_sum.py'" in capsys.readouterr().out
