"""The jaxjudge command in-process: output, exit codes, one-line errors for bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.cli import main
from grader.model.problems import list_problems, load_problem
from grader.tools.verify import spec_failures

DATA = Path(__file__).resolve().parent.parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    # By track, in problems/tracks.yaml's order, each problem once under its track's title.
    from grader.model.tracks import load_tracks
    expected = []
    for track in load_tracks().tracks:
        expected += [track.title, *(f"{n}. {pid}" for n, pid in enumerate(track.problems, 1))]
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    assert [line.split("  ")[0].strip() for line in lines] == expected
    assert len({line.split()[1] for line in lines if ". " in line}) == len(list_problems())
    # Each problem's difficulty and tags after its title, where a learner picks one.
    for p in list_problems():
        line = next(li for li in lines if li.split()[1:2] == [p.id])
        assert line.endswith(f"{p.spec.title}  [{p.spec.difficulty}]  {', '.join(p.spec.tags)}")


def test_show_prints_the_given_functions_after_the_statement(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "hvp_given")
    assert code == 0
    statement, rest = out.split("Given functions (given.py)", 1)
    assert "Common pitfalls" in statement
    assert "def rosenbrock(x):" in rest and "def log_sum_exp(x):" in rest
    assert "f: function of given.py: quadratic | rosenbrock | log_sum_exp" in rest
    assert "f = 'quadratic'" in rest  # the visible example names its function


def test_show_prints_worked_example_expected_from_reference(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "reinforce_grad")
    assert code == 0
    assert "jax.random.categorical(key, logits, shape=(n,))" in out
    assert "reinforce_grad(seed: float, logits: float32[K]" in out
    problem = load_problem("reinforce_grad")
    case = next(c for c in problem.tests if c.name == "worked_example")
    want = np.asarray(problem.reference_module.reinforce_grad(**case.args))
    assert abs(want[0] - 2.5) < 0.25 and abs(want.sum()) < 1e-5  # the statement's ≈ [2.5, -2.5]
    shown = out.split("worked_example", 1)[1].split("expected =", 1)[1].split("]", 1)[0]
    got = np.array([float(v) for v in shown.strip(" [\n").split(",")])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_every_shipped_problem_passes_verifys_spec_checks() -> None:
    # Each reference's run on every test is the corpus's work (tests/integration/corpus.py):
    # here, what verify finds without running anything, for all of them.
    assert {p.id: spec_failures(p) for p in list_problems()} == \
        {p.id: [] for p in list_problems()}


def test_verify_passes_on_a_shipped_problem(capsys: pytest.CaptureFixture[str]) -> None:
    # One problem with one entry, one with a sequence (whose tests the reference builds).
    code, out, _ = run(capsys, "verify", "--skip-examples", "reinforce_grad", "adam_step")
    assert code == 0, out
    assert out.count("ok ") == 2 and "reference matches the spec" in out


def test_unknown_problem_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", "nope")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0
    assert "unknown problem 'nope'" in err and "reinforce_grad" in err


def test_malformed_yaml_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "problems").mkdir()
    shutil.copytree(DATA / "invalid" / "malformed_yaml" / "tiny", tmp_path / "problems" / "tiny")
    monkeypatch.setenv("JAXJUDGE_ROOT", str(tmp_path))
    code, _, err = run(capsys, "list")
    assert code == 2 and "Traceback" not in err
    assert err.strip().count("\n") == 0
    assert "tiny/problem.yaml: line 5" in err and "malformed YAML" in err


def _copy_problem(tmp_path: Path, problem_id: str) -> Path:
    shutil.copytree(ROOT / "problems" / problem_id, tmp_path / "problems" / problem_id)
    (tmp_path / "reference").mkdir()
    shutil.copy(ROOT / "reference" / f"{problem_id}.py", tmp_path / "reference")
    return tmp_path


def test_raising_reference_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root = _copy_problem(tmp_path, "reparam_grad")
    ref = root / "reference" / "reparam_grad.py"
    ref.write_text(ref.read_text() + "\n\ndef reparam_grad(*a, **k):\n    raise KeyError('boom')\n")
    monkeypatch.setenv("JAXJUDGE_ROOT", str(root))
    code, _, err = run(capsys, "verify", "--skip-examples")
    assert code == 2 and "Traceback" not in err
    assert "reference/reparam_grad.py: raised KeyError('boom') on test 'standard_normal'" in err


def test_duplicate_tests_fail_verification(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = _copy_problem(tmp_path, "reparam_grad")
    spec = root / "problems" / "reparam_grad" / "problem.yaml"
    text = spec.read_text().replace("- name: shifted", "- name: shifted_twin\n"
                                    "    args: {seed: 1.0, mu: [1.0, -2.0], log_sigma: [0.5, -0.5],"
                                    " n_samples: 1000.0}\n  - name: shifted")
    spec.write_text(text)
    monkeypatch.setenv("JAXJUDGE_ROOT", str(root))
    code, out, _ = run(capsys, "verify", "--skip-examples")
    assert code == 1
    assert "test 'shifted' has the same inputs as 'shifted_twin'" in out


def test_schema_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, _ = run(capsys, "schema")
    assert code == 0 and json.loads(out)["title"] == "ProblemSpec"


# Exit statuses: every way out of main is 0, 1 or 2.


def test_usage_errors_and_help_return_their_status(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "grade")
    assert code == 2 and "the following arguments are required" in err
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "usage: jaxjudge" in out


@pytest.mark.parametrize(("verdicts", "batch", "want"), [
    (["accepted"], False, 0), (["wrong_answer"], False, 1), (["judge_error"], False, 2),
    (["accepted", "wrong_answer", "compile_error"], True, 0),
    (["accepted", "judge_error"], True, 2), (["accepted", "accepted"], True, 0)])
def test_one_rule_maps_verdicts_to_exit_status(verdicts: list[str], batch: bool,
                                               want: int) -> None:
    from grader.cli.exits import grade_exit

    assert grade_exit(verdicts, batch=batch) == want


def _raise(exc: BaseException) -> None:
    raise exc


def test_a_judge_bug_is_one_line_exit_2(capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAXJUDGE_DEBUG", raising=False)
    monkeypatch.setattr("grader.cli.problem_commands.list_problems",
                        lambda: _raise(RuntimeError("boom\nmore")))
    code, out, err = run(capsys, "list")
    assert (code, out) == (2, "")
    assert err == ("jaxjudge: internal error: RuntimeError: boom "
                   "(JAXJUDGE_DEBUG=1 shows the traceback)\n")
    monkeypatch.setenv("JAXJUDGE_DEBUG", "1")
    code, _, err = run(capsys, "list")
    assert code == 2 and err.startswith("jaxjudge: internal error: RuntimeError: boom\n")
    assert "Traceback (most recent call last)" in err and "_raise" in err


def test_ctrl_c_is_exit_2(capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("grader.cli.problem_commands.list_problems",
                        lambda: _raise(KeyboardInterrupt()))
    assert run(capsys, "list") == (2, "", "jaxjudge: interrupted\n")


@pytest.mark.parametrize("command", ["schema", "list"])  # print, and rich's console
def test_a_reader_that_left_is_exit_2_and_silent(command: str, monkeypatch: pytest.MonkeyPatch,
                                                 capfd: pytest.CaptureFixture[str]) -> None:
    import os
    import sys

    read, write = os.pipe()
    os.close(read)  # as `jaxjudge schema | head -c 1` leaves it
    with os.fdopen(write, "w") as closed:
        monkeypatch.setattr(sys, "stdout", closed)
        assert main([command]) == 2
        closed.write("x" * 100_000)  # stdout now leads nowhere: the last flush cannot fail
        closed.flush()
    assert capfd.readouterr().err == ""


def test_a_refused_file_is_one_line_exit_2(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    link = tmp_path / "mine.py"
    link.symlink_to(ROOT / "reference" / "reinforce_grad.py")
    code, out, err = run(capsys, "grade", "reinforce_grad", str(link))
    assert (code, out) == (2, "")
    assert err == (f"jaxjudge: error: {link}: refused: a symbolic link, not a file — "
                   "submit the file itself\n")


def test_version_is_the_installed_one_exit_0(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata
    import tomllib

    from grader.cli.main import version

    code, out, err = run(capsys, "--version")
    assert (code, out, err) == (0, f"jaxjudge {importlib.metadata.version('jaxjudge')}\n", "")
    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert version() == shipped  # a source tree that is not installed: pyproject's


def test_verify_mutants_fails_on_an_unexplained_survivor_only(tmp_path: Path) -> None:
    """Graded in-process by a fake that accepts the reference's first mutant: a survivor fails
    `verify --mutants` until problem.yaml's equivalent_mutants explains it."""
    from io import StringIO

    from rich.console import Console

    from grader.cli.problem_commands import _report_mutants
    from grader.model.mutations import mutants
    from grader.model.report import Report, TestResult
    from grader.tools import mutants as tool
    from grader.verdict import Verdict

    root = _copy_problem(tmp_path, "reparam_grad")
    first = mutants((root / "reference" / "reparam_grad.py").read_text(), "reparam_grad")[0]

    def grade(problem: object, path: Path, _: object) -> Report:
        verdict = Verdict.ACCEPTED if path.read_text() == first.source else Verdict.WRONG_ANSWER
        return Report("reparam_grad", path.name, [TestResult("t", verdict, True, 1.0)], [], {}, 0)

    def report() -> tuple[bool, str]:
        out = StringIO()
        ok = _report_mutants(Console(file=out, width=400), load_problem("reparam_grad", root))
        return ok, out.getvalue()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tool, "grade_submission", grade)
        ok, out = report()
        assert not ok and "(reference 8); 0 explained as equivalent, 1 survived" in out, out
        assert f"reference line {first.line}: {first.description} [{first.change}]: SURVIVED" \
            in out
        spec = root / "problems" / "reparam_grad" / "problem.yaml"
        spec.write_text(spec.read_text() + (
            f"equivalent_mutants:\n  - source: reference\n    line: {first.line}\n"
            f"    change: {json.dumps(first.change)}\n    reason: it reads the same\n"))
        ok, out = report()
        assert ok and "1 explained as equivalent, 0 survived" in out, out
        assert f"[{first.change}]: explained: it reads the same" in out


def test_submit_loads_no_judge() -> None:
    """`jaxjudge submit` is an HTTP client: its start-up imports neither the problem model
    (numpy, pydantic) nor the sandbox nor the service (~0.5 s of every submit once)."""
    code = ("import sys; from grader.cli.main import main; "
            "rc = main(['submit', 'reinforce_grad', '/nonexistent.py', '--server', "
            "'http://127.0.0.1:9', '--token', 't']); "
            "print(rc, sorted(m for m in ('grader.model.problems', 'grader.model.spec', "
            "'grader.sandbox.factory', 'grader.service', 'jax', 'pydantic', 'numpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.stdout.split("\n")[-2] == "2 []", (out.stdout, out.stderr)
