"""Without bubblewrap the local sandbox refuses, unless weaker isolation is asked for by name."""

from __future__ import annotations

import pytest

from grader.errors import JudgeError
from grader.sandbox import LocalSandbox


def test_missing_bwrap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("grader.sandbox.shutil.which", lambda _name: None)
    with pytest.raises(JudgeError, match="bubblewrap"):
        LocalSandbox()
    weak = LocalSandbox(unsandboxed=True)
    assert weak.bwrap is None


def test_missing_bwrap_is_exit_2_in_the_cli(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    monkeypatch.setattr("grader.sandbox.shutil.which", lambda _name: None)
    code = main(["grade", "reparam_grad", __file__])
    err = capsys.readouterr().err
    assert code == 2 and "bubblewrap" in err and "Traceback" not in err
