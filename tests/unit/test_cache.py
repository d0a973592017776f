"""The cache module: keys cover what determines a value, writes are atomic under unique names,
and nothing partial, unisolated or a judge's fault is kept."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from grader.cli import main
from grader.data import cache
from grader.data.expected import expected_outputs, reference_output
from grader.errors import SpecError
from grader.judging.feedback import example_outputs
from grader.model import inputs, problems, sequences
from grader.model.problems import Problem, load_problem
from grader.model.spec import ProblemSpec
from grader.model.submission import Submission
from grader.sandbox.capture import Capture
from grader.sandbox.frames import Event
from grader.sandbox.local import LocalSandbox
from grader.sandbox.protocol import Job

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Problem:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("JAXJUDGE_COMPILE_CACHE", str(tmp_path / "xla"))
    shutil.copytree(ROOT / "problems" / "reparam_grad", tmp_path / "problems" / "reparam_grad")
    (tmp_path / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "reparam_grad.py", tmp_path / "reference")
    return load_problem("reparam_grad", tmp_path)


def _nudged(spec: ProblemSpec, reference: object = None) -> list[inputs.TestCase]:
    """The spec's tests with one element of one input changed: what a numpy upgrade that draws
    other generated values, or an edited inputs.py, does without touching spec or reference."""
    drawn = sequences.materialise(spec)
    last = drawn[-1]
    mu = np.array(last.args["mu"], copy=True)
    mu[0] += 0.5
    drawn[-1] = dataclasses.replace(last, args={**last.args, "mu": mu})
    return drawn


def test_the_expected_key_covers_the_materialised_inputs(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache.problem_key(problem)
    old = expected_outputs(problem)
    monkeypatch.setattr(problems, "materialise", _nudged)
    changed = load_problem("reparam_grad", problem.root)
    assert cache.problem_key(changed) != before
    got = expected_outputs(changed)
    # The nudged test's output is the reference's on the new inputs, never the stored old one.
    np.testing.assert_array_equal(got[-1], reference_output(changed, changed.tests[-1]))
    assert not np.array_equal(got[-1], old[-1])
    assert len(list(cache.folder(cache.EXPECTED).glob("reparam_grad-*.npz"))) == 2


def test_every_key_covers_the_numpy_version(problem: Problem, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    submission = Submission("s.py", b"x = 1\n")
    before = cache.problem_key(problem), cache.result_key(problem, submission, "local")
    real = cache._version
    monkeypatch.setattr(cache, "_version",
                        lambda name: "99.0.0" if name == "numpy" else real(name))
    assert cache.versions()["numpy"] == "99.0.0"
    after = cache.problem_key(problem), cache.result_key(problem, submission, "local")
    assert after[0] != before[0] and after[1] != before[1]


def test_threads_of_one_process_never_collide(tmp_path: Path) -> None:
    """Threads share a pid: a temp name unique per pid only lets two writers share one file."""
    path = tmp_path / "store" / "key.npz"
    start = threading.Barrier(16)
    errors: list[BaseException] = []
    stored: list[bool] = []

    def writer(i: int) -> None:
        try:
            start.wait()
            for _ in range(10):
                stored.append(cache.store_arrays(path, {"x": np.full(50_000, i, np.int64)}))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and stored == [True] * 160
    got = cache.load_arrays(path, ["x"])
    assert got is not None and len(set(got["x"].tolist())) == 1  # one writer's whole file
    assert [p.name for p in path.parent.iterdir()] == ["key.npz"]  # no temp left behind


def test_a_failed_write_leaves_no_temp(tmp_path: Path) -> None:
    def fails(_: object) -> None:
        raise OSError("disk full")

    def breaks(_: object) -> None:
        raise RuntimeError("bug")

    assert cache.atomic_write(tmp_path / "a.json", fails) is False
    with pytest.raises(RuntimeError):
        cache.atomic_write(tmp_path / "a.json", breaks)
    assert list(tmp_path.iterdir()) == []


class Scripted:
    """A sandbox that replays events, to count runs and end them exactly as a test needs."""

    name = "local"
    jail_uid: int | None = None

    def __init__(self, complete: bool = True, ready: bool = True) -> None:
        self.complete, self.ready, self.runs = complete, ready, 0

    def run(self, job: Job, captured: Capture) -> Iterator[Event]:
        self.runs += 1
        if not self.ready:
            yield Event("killed", header={"reason": "exit", "code": 1})
            return
        yield Event("ready")
        last = len(job.tests) if self.complete else len(job.tests) // 2
        for i in range(last):
            yield Event("start", i)
            yield Event("result", i, {}, np.full(2, float(i), np.float32))
        if self.complete:
            yield Event("done")
        else:
            yield Event("killed", header={"reason": "timeout"})


class Unisolated(LocalSandbox):
    """--unsafe-no-sandbox, replaying a complete run instead of starting a process."""

    def __init__(self) -> None:
        super().__init__(unsandboxed=True)
        self.script = Scripted()

    def run(self, job: Job, captured: Capture) -> Iterator[Event]:
        return self.script.run(job, captured)


def test_only_a_complete_isolated_diagnosis_run_is_stored(problem: Problem,
                                                          tmp_path: Path) -> None:
    example = tmp_path / "wrong.py"
    example.write_text("def reparam_grad(): ...\n")
    stored = cache.folder(cache.DIAGNOSES)
    n = len(problem.tests)
    for sandbox in (Scripted(complete=False), Scripted(ready=False), Unisolated()):
        first = example_outputs(problem, example, sandbox)
        assert len(first) == (n // 2 if isinstance(sandbox, Scripted) and sandbox.ready else
                              n if isinstance(sandbox, Unisolated) else 0)
        assert not stored.exists() or list(stored.iterdir()) == []
    whole = Scripted()
    assert len(example_outputs(problem, example, whole)) == n
    assert len(list(stored.iterdir())) == 1
    again = Scripted()
    assert len(example_outputs(problem, example, again)) == n and again.runs == 0


def test_the_result_cache_never_keeps_a_judge_error(problem: Problem) -> None:
    good = {"verdict": "accepted", "tests": [{"verdict": "accepted"}]}
    assert cache.store_result("a", good) and cache.load_result("a") == good
    for bad in ({"verdict": "judge_error", "tests": []},
                {"verdict": "wrong_answer", "tests": [{"verdict": "wrong_answer"},
                                                       {"verdict": "judge_error"}]}):
        assert cache.store_result("b", bad) is False
        assert not (cache.folder(cache.RESULTS) / "b.json").exists()
    # One an older judge left behind is not served either.
    (cache.folder(cache.RESULTS) / "c.json").write_text(json.dumps({"verdict": "judge_error"}))
    assert cache.load_result("c") is None


def test_cache_clear_removes_every_cache(problem: Problem, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    expected_outputs(problem)
    cache.store_result("r", {"verdict": "accepted", "tests": []})
    (tmp_path / "xla").mkdir()
    (tmp_path / "xla" / "entry").write_bytes(b"x" * 3000)
    assert main(["cache", "path"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "xla") in out and str(cache.folder(cache.DIAGNOSES)) in out
    assert main(["cache", "clear"]) == 0
    out = capsys.readouterr().out
    assert f"removed {tmp_path / 'xla'} (2.9 KiB)" in out
    assert f"removed {cache.folder(cache.RESULTS)}" in out
    assert f"removed {cache.folder(cache.EXPECTED)}" in out
    assert not (tmp_path / "xla").exists() and not cache.root().exists()
    assert main(["cache", "clear"]) == 0
    assert "no cache to remove" in capsys.readouterr().out


def test_cache_clear_never_removes_a_home_folder(problem: Problem, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / "thesis").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("JAXJUDGE_COMPILE_CACHE", str(home))
    expected_outputs(problem)
    assert main(["cache", "clear"]) == 2
    assert (home / "thesis").is_dir() and cache.folder(cache.EXPECTED).is_dir()


def test_trusted_examples_are_paths_under_the_examples(problem: Problem) -> None:
    spec = problem.spec_path
    text = spec.read_text().split("trusted_examples:")[0]
    for bad in ("../../../etc/x.py", "/abs/x.py", "accepted/x.sh"):
        spec.write_text(text + f"trusted_examples: [{bad!r}]\n")
        with pytest.raises(SpecError, match="trusted_examples"):
            load_problem("reparam_grad", problem.root)


def test_warm_seals_the_compile_cache_and_empties_one_an_older_judge_left_listable(
        problem: Problem, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grader.sandbox.cache_view import STORE_MODE, jail_cache
    from grader.tools.warm import seal

    legacy = tmp_path / "xla"  # $JAXJUDGE_COMPILE_CACHE in these tests
    legacy.mkdir(mode=0o755)
    for name in ("jit_add-1f-cache", "jit_add-1f-atime", "notes.txt"):
        (legacy / name).write_bytes(b"x" * 100)
    assert jail_cache(legacy) is None  # listable, with located entries: no jail mounts it
    seal(legacy)
    assert legacy.stat().st_mode & 0o777 == STORE_MODE and jail_cache(legacy) == legacy
    assert sorted(p.name for p in legacy.iterdir()) == ["notes.txt"]  # only JAX's files go
    (legacy / "jit_add-2e-cache").write_bytes(b"y")
    seal(legacy)  # sealed already: its (location-free) entries stay
    assert (legacy / "jit_add-2e-cache").is_file()
    # Sealed to 0311 by an older judge: a jail sharing the judge's filesystem could open its
    # entries by name (a hidden test's programs among them), so no view links from it until
    # warm seals it again, keeping its entries.
    legacy.chmod(0o311)
    assert jail_cache(legacy) is None
    seal(legacy)
    assert jail_cache(legacy) == legacy and (legacy / "jit_add-2e-cache").is_file()
    assert main(["cache", "clear"]) == 0
    assert not legacy.exists()
