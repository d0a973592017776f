"""Without bubblewrap the local sandbox refuses, unless weaker isolation is asked for by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import JudgeError
from grader.sandbox.local import LocalSandbox


def test_missing_bwrap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("grader.sandbox.local.shutil.which", lambda _name: None)
    with pytest.raises(JudgeError, match="bubblewrap"):
        LocalSandbox()
    weak = LocalSandbox(unsandboxed=True)
    assert weak.bwrap is None


def test_missing_bwrap_is_exit_2_in_the_cli(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    monkeypatch.setattr("grader.sandbox.local.shutil.which", lambda _name: None)
    code = main(["grade", "reparam_grad", __file__])
    err = capsys.readouterr().err
    assert code == 2 and "bubblewrap" in err and "Traceback" not in err


def test_no_cgroup_is_refused_with_the_way_out(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    from grader.cli.main import build_parser, main

    monkeypatch.delenv("JAXJUDGE_LIMITS", raising=False)
    monkeypatch.setattr("grader.sandbox.hierarchy.ROOT", tmp_path)  # no cgroup filesystem there
    code = main(["grade", "reparam_grad", __file__])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "no cgroup can bound a submission as a whole" in err and "--per-process-limits" in err
    args = build_parser().parse_args(["grade", "reparam_grad", "x.py", "--per-process-limits"])
    assert args.per_process_limits
    assert LocalSandbox(per_process_limits=True).cgroups is None
    assert LocalSandbox(unsandboxed=True).cgroups is None
