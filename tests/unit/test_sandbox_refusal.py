"""Without bubblewrap the local sandbox refuses, unless weaker isolation is asked for by name."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from grader.errors import JudgeError
from grader.sandbox.local import SANDBOX_UID, LocalSandbox, python_unreachable


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


@pytest.mark.skipif(os.geteuid() != 0, reason="uid isolation needs root")
def test_uid_mode_refuses_a_python_the_jail_uid_cannot_reach(
        monkeypatch: pytest.MonkeyPatch) -> None:
    open_ = Path(tempfile.mkdtemp(prefix="reach-"))  # pytest's own tmp_path is 0700
    open_.chmod(0o755)
    try:
        _refuses(monkeypatch, open_ / "home")
    finally:
        shutil.rmtree(open_)


def _refuses(monkeypatch: pytest.MonkeyPatch, closed: Path) -> None:
    (closed / "venv").mkdir(parents=True)
    closed.chmod(0o700)  # a venv under /root, or a pyenv there
    monkeypatch.setenv("JAXJUDGE_ISOLATION", "uid")
    monkeypatch.setattr(sys, "prefix", str(closed / "venv"))
    with pytest.raises(JudgeError, match=rf"uid {SANDBOX_UID} cannot reach {closed}, part of "
                                         rf"this Python install .*/opt/venv"):
        LocalSandbox()  # its default uid: SANDBOX_UID, 60000 unless an xdist worker moved it
    assert python_unreachable(60_000) == closed
    os.chown(closed, 60_000, 0)  # the jail's uid owns it: its owner bits count
    assert python_unreachable(60_000) is None
    os.chown(closed, 0, 60_000)
    closed.chmod(0o710)  # its group is the jail's gid: searchable
    assert python_unreachable(60_000) is None
    (closed / "venv").chmod(0o711)  # the prefix itself must be readable, not just searchable
    closed.chmod(0o711)
    assert python_unreachable(60_000) == closed / "venv"
