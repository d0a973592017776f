"""Trusted precomputation: the persistent XLA cache (read-only to submissions), expected outputs,
statistical baselines, diagnosis and mutant outputs."""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

from grader.data.cache import compile_cache_dir
from grader.data.expected import expected_outputs
from grader.judging.execution import make_job, run_calls
from grader.judging.feedback import example_outputs
from grader.judging.judge import plan
from grader.judging.mutated import distinct_mutants, trusted_sources
from grader.judging.statistics import trusted_data
from grader.model.problems import Problem
from grader.sandbox.cache_view import HIDDEN, PHASES_PREFIX, STORE_MODE, VISIBLE, write_manifest
from grader.sandbox.local import LocalSandbox
from grader.sandbox.protocol import Sandbox
from grader.verdict import Verdict

__all__ = ["compile_cache_dir", "compile_programs", "missing_trusted", "prepare", "seal", "warm"]

ENTRY_SUFFIXES = ("-cache", "-atime")  # the names JAX gives a compile cache's files


def seal(folder: Path) -> None:
    """Makes `folder` a compile cache jails' views may link from: created if missing, then
    STORE_MODE (only the judge enters it, and no one lists it). A folder anyone could list was
    warmed by an older judge, whose entries hold the reference's source locations: its entries
    are removed first, and warming writes them anew. One sealed to 0311 keeps its entries."""
    folder.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) & 0o444:
        for entry in folder.iterdir():
            if (entry.name.endswith(ENTRY_SUFFIXES) or entry.name.startswith(PHASES_PREFIX)) \
                    and entry.is_file() and not entry.is_symlink():
                entry.unlink()
    folder.chmod(STORE_MODE)


def prepare(problem: Problem, sandbox: Sandbox) -> None:
    """Trusted work every grade needs, done once before the workers start; diagnosis examples
    run in `sandbox`."""
    expected_outputs(problem)
    for check in problem.spec.statistics:
        trusted_data(problem, check)
    for diagnosis in problem.spec.diagnoses:
        example = problem.submissions_dir / diagnosis.example
        if example.is_file():
            example_outputs(problem, example, sandbox)
    distinct_mutants(problem)  # every trusted solution's mutants, which feedback compares with


def missing_trusted(problem: Problem) -> list[str]:
    return [f"{problem.spec_path}: trusted_examples names {name!r}, which is not under "
            f"{problem.submissions_dir}" for name in problem.spec.trusted_examples
            if not (problem.submissions_dir / name).is_file()]


WARM_CALL_S = 300.0  # per call of a warm run, whatever the problem's limits


def warm(problem: Problem, folder: Path | None = None,
         sandbox: Sandbox | None = None) -> list[str]:
    """Compiles what learners will compile (see compile_programs), then prepares the rest,
    diagnosis examples in `sandbox` (default: a jail reading the warmed cache). Returns what
    failed to run."""
    folder = folder or compile_cache_dir()
    failures = compile_programs(problem, folder)
    prepare(problem, sandbox or LocalSandbox(compile_cache=folder))
    return failures


def compile_programs(problem: Problem, folder: Path, examples: bool = True) -> list[str]:
    """Compiles what learners will compile over every call of a grade, unsandboxed: the
    reference and (unless `examples` is false) the spec's trusted_examples only (staff code;
    other examples may be donated learners' code). The visible calls compile first, then the
    hidden ones, each phase into a fresh folder, so that the entries each phase adds are known:
    the problem's manifest (cache_view) lets a jail load a hidden call's programs only once it
    is sent the hidden inputs. The entries then join the cache at `folder`; they carry no
    source location (see cache_env), and the folder is sealed (see seal): a jail opens only
    the entries its own programs hash to. Returns what failed to run."""
    seal(folder)
    # Every program a grade compiles, once: a statistical check's calls differ only in the seed,
    # a value its programs take as an argument, so each group's first call compiles them all
    # (a grade's 400 seeds of a check would cost minutes of CPU here and compile nothing new).
    p = plan(problem)
    firsts = [i for i, g in enumerate(p.groups) if g is None or i == 0 or p.groups[i - 1] != g]
    phases = {VISIBLE: [p.calls[i] for i in firsts if i < p.public],
              HIDDEN: [p.calls[i] for i in firsts if i >= p.public]}
    failures = missing_trusted(problem)
    sources = trusted_sources(problem) if examples else [problem.reference_path]
    recorded: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix=".jaxjudge-warm-", dir=folder.parent) as tmp:
        work, seen = Path(tmp), set[str]()
        trusted = LocalSandbox(unsandboxed=True, compile_cache=work)
        for phase, calls in phases.items():
            for path in sources if calls else []:
                failures += _compile(trusted, problem, path, calls)
            now = {e.name for e in work.iterdir() if e.name.endswith(ENTRY_SUFFIXES[0])}
            recorded[phase], seen = sorted(now - seen), now
        for name in sorted(seen):
            target = folder / name
            if not target.exists():
                try:
                    os.link(work / name, target)
                except OSError:  # another filesystem
                    shutil.copyfile(work / name, target)
    write_manifest(folder, problem.id, recorded)
    return failures


def _compile(trusted: Sandbox, problem: Problem, path: Path,
             calls: list[dict[str, Any]]) -> list[str]:
    """Runs trusted code at `path` over `calls`, writing the programs it compiles."""
    # Trusted code compiling every program of a grade: a learner's time limits are no bound
    # for it (8 s per test, beside a busy machine's other work, once ended a warm early).
    job = dataclasses.replace(make_job(problem, path, calls), time_per_test_s=WARM_CALL_S,
                              total_time_s=WARM_CALL_S * len(calls),
                              startup_s=max(problem.spec.limits.startup_s, WARM_CALL_S))
    run = run_calls(trusted, job)
    if run.stop is not None or len(run.outcomes) != len(calls) or any(
            o.verdict != Verdict.ACCEPTED for o in run.outcomes.values()):
        return [f"{path}: did not run every call ({run.stop})"]
    return []
