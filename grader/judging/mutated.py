"""Mutants of every trusted solution (the reference, then the spec's trusted_examples), run
through the runner in a process of their own, under the problem's time and memory limits."""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from pathlib import Path

import numpy as np

from grader.data.cache import EXPECTED, arrays_path, load_arrays, store_arrays
from grader.data.expected import expected_outputs
from grader.judging.execution import Run, make_job, run_calls, tagged
from grader.model.inputs import TestCase, bind_dims, expected_leaves
from grader.model.mutations import Mutant, mutants
from grader.model.problems import Problem, entries_by_test
from grader.model.values import Output, compare_output, pack, unpack
from grader.sandbox.local import LocalSandbox
from grader.verdict import Verdict

REFERENCE, OTHER = "the reference", "a correct solution"  # whose slip a hint names


@functools.cache
def _mutants(source: str, function: str, solution: str) -> tuple[Mutant, ...]:
    return tuple(mutants(source, function, solution))


def trusted_sources(problem: Problem) -> list[Path]:
    """The staff's correct code, reference first: the reference and each trusted example (in
    the spec's order) that exists."""
    examples = [problem.submissions_dir / name for name in problem.spec.trusted_examples]
    return [problem.reference_path, *(p for p in examples if p.is_file())]


def reference_mutants(problem: Problem) -> tuple[Mutant, ...]:
    """Mutants of every entry the learner writes (each mutates one of them) in every trusted
    solution, the reference's first (see `sourced_mutants`)."""
    return tuple(m for _, m in sourced_mutants(problem))


def sourced_mutants(problem: Problem) -> list[tuple[Path, Mutant]]:
    """Each mutant of every entry the learner writes in every trusted solution, with the
    solution it mutates, the reference's first. A mutant whose change reads as one of an earlier
    solution's (`int(seed) + 1` in each) is left out: its hint would say the same, and each
    is a compile or more to run."""
    out: list[tuple[Path, Mutant]] = []
    for i, path in enumerate(trusted_sources(problem)):
        source = path.read_text(encoding="utf-8")
        said = {m.change for _, m in out}
        out += ((path, m) for f in problem.spec.entries
                for m in _mutants(source, f.name, REFERENCE if i == 0 else OTHER)
                if m.change not in said)
    return out


def _visible(problem: Problem) -> list[TestCase]:
    """The tests a mutant runs on: feedback matches a submission on visible tests alone (a hint
    is built from nothing hidden), so a mutant's hidden outputs would never be read."""
    return [c for c in problem.tests if c.visible]


def _path(problem: Problem, mutant: Mutant) -> Path:
    return arrays_path(EXPECTED, problem, "mutant", mutant.source.encode())


def mutant_outputs(problem: Problem, mutant: Mutant) -> dict[str, Output]:
    """The mutant's output on each visible fixed test it answers (see `all_outputs`)."""
    return all_outputs(problem, [mutant])[0]


def all_outputs(problem: Problem, batch: list[Mutant]) -> list[dict[str, Output]]:
    """Each mutant's output on each visible fixed test it answers with the declared shape and
    dtype and finite values (a mutant may raise, or give NaN: that test then has no output; one
    that runs out of time or memory has none at all). Cached with the expected outputs, keyed by
    the mutant's source as well; the mutants not cached run together (see `_run`)."""
    fn, by_name = problem.spec.function, entries_by_test(problem)
    found: dict[int, dict[str, np.ndarray]] = {}
    for i, m in enumerate(batch):
        if (hit := load_arrays(_path(problem, m))) is not None:
            found[i] = hit
    missing = [i for i in range(len(batch)) if i not in found]
    if missing:
        ran = _run(problem, [batch[i] for i in missing])
        for k, outs in ran.items():
            found[missing[k]] = arrays = pack(outs)
            store_arrays(_path(problem, batch[missing[k]]), arrays)
    return [unpack(found[i], fn, by_name) if i in found else {} for i in range(len(batch))]


def entry(i: int, name: str) -> str:
    return f"mutant_{i}__{name}"


def program(path: str, entries: list[str], batch: list[Mutant]) -> str:
    """One file whose entries call the mutants: mutant i's `f` as `mutant_i__f`, each mutant's
    module made on its first call (within that call's time limit), its __file__ `path`."""
    sources = [(path, m.source) for m in batch]
    lines = ["import types as _types", f"_SOURCES = {sources!r}", "_LOADED = {}", "",
             "def _entry(i, name):",
             "    def call(**kwargs):",
             "        module = _LOADED.get(i)",
             "        if module is None:",
             "            path, text = _SOURCES[i]",
             "            module = _types.ModuleType('jaxjudge_mutant')",
             "            module.__file__ = path",
             "            exec(compile(text, path, 'exec'), module.__dict__)",
             "            _LOADED[i] = module",
             "        return getattr(module, name)(**kwargs)",
             "    return call", ""]
    lines += [f"{entry(i, f)} = _entry({i}, {f!r})" for i in range(len(batch)) for f in entries]
    return "\n".join(lines) + "\n"


def _run(problem: Problem, batch: list[Mutant]) -> dict[int, dict[str, Output]]:
    """Runs the batch through the runner, unsandboxed (trusted code, as warm runs it) and in as
    few processes as it takes: one, plus one more after each mutant that runs out of the
    problem's time or memory (it gets no outputs; the next process starts with the mutant after
    it). By index into `batch`: every mutant whose run ended; none when the runner cannot start
    (a passing fault, nothing to cache)."""
    cases = _visible(problem)
    done: dict[int, dict[str, Output]] = {}
    if not cases:
        return {i: {} for i in range(len(batch))}
    limits = problem.spec.limits
    sandbox = LocalSandbox(unsandboxed=True)
    with tempfile.TemporaryDirectory(prefix="jaxjudge-mutants-") as tmp:
        path = Path(tmp) / "mutants.py"
        path.write_text(program(str(problem.reference_path),
                                [f.name for f in problem.spec.entries], batch), encoding="utf-8")
        pending = list(range(len(batch)))
        for _ in range(len(batch)):  # each run ends at least one mutant
            if not pending:
                break
            owners = [(i, c) for i in pending for c in cases]
            calls = [tagged(c.args, entry(i, c.call or problem.spec.function.name))
                     for i, c in owners]
            names = tuple(entry(i, f.name) for i in pending for f in problem.spec.entries)
            job = make_job(problem, path, calls)
            job = dataclasses.replace(
                job, function=names[0], entries=names,
                total_time_s=limits.total_time_s * len(pending),
                entry_returns={entry(i, f): s for i in pending
                               for f, s in job.entry_returns.items()},
                entry_leaves={entry(i, f): s for i in pending
                              for f, s in job.entry_leaves.items()})
            run = run_calls(sandbox, job)
            if not run.ready or (run.stop is not None and run.stop.verdict in (
                    Verdict.JUDGE_ERROR, Verdict.COMPILE_ERROR)):
                break  # the runner's fault, not a mutant's: computed next time
            last = culprit(run, len(calls))
            last = owners[last][0] if last is not None else None
            for i in pending:
                if i == last:
                    done[i] = {}  # out of time or memory, or ended the process: diagnoses nothing
                    break
                done[i] = {c.name: o.array for k, (j, c) in enumerate(owners)
                           if j == i and (o := run.outcomes[k]).array is not None
                           and _fits(problem, c, o.array)}
            pending = [i for i in pending if i not in done]
    return done


def culprit(run: Run, calls: int) -> int | None:
    """The call that ended the run early: the one under way when it was killed, else one that
    ran out of memory (the runner stops after it), else the first not run; None for a run that
    made every call."""
    if run.current is not None:
        return run.current
    if run.outcomes and run.outcomes[last := max(run.outcomes)].verdict \
            == Verdict.MEMORY_LIMIT_EXCEEDED:
        return last
    return next((k for k in range(calls) if k not in run.outcomes), None)


def _fits(problem: Problem, case: TestCase, out: Output) -> bool:
    """Of the declared shape and dtype, and finite."""
    fn = problem.spec.entry(case.call)
    leaves = out if isinstance(out, dict) else {"": out}
    return all(path in leaves and leaves[path].shape == shape
               and leaves[path].dtype == np.dtype(dtype) and bool(np.all(np.isfinite(leaves[path])))
               for path, dtype, shape in expected_leaves(fn, bind_dims(fn, case.args)))


def distinct_mutants(problem: Problem) -> list[tuple[Mutant, dict[str, Output]]]:
    """Mutants whose outputs differ from the expected ones on some visible test, each with its
    outputs; of mutants with the same outputs on every test only the first is kept (the
    reference's before another solution's)."""
    batch = list(reference_mutants(problem))
    expected = dict(zip((c.name for c in problem.tests), expected_outputs(problem), strict=True))
    return distinct(problem, list(zip(batch, all_outputs(problem, batch), strict=True)),
                    expected)


def distinct(problem: Problem, found: list[tuple[Mutant, dict[str, Output]]],
             expected: dict[str, Output]) -> list[tuple[Mutant, dict[str, Output]]]:
    """Of `found` (in order), each mutant with outputs that are not the expected ones on every
    test it answers, nor an earlier kept mutant's on the same tests."""
    tol = problem.spec.tolerance
    cases = {c.name: c for c in problem.tests}

    def same(a: dict[str, Output], b: dict[str, Output]) -> bool:
        return a.keys() <= b.keys() and all(
            compare_output(a[n], b[n], problem.spec.entry(cases[n].call), tol,
                           dict(cases[n].args)).verdict == Verdict.ACCEPTED for n in a)

    kept: list[tuple[Mutant, dict[str, Output]]] = []
    for m, outs in found:
        if not outs or same(outs, expected) or any(same(outs, o) and o.keys() == outs.keys()
                                                   for _, o in kept):
            continue
        kept.append((m, outs))
    return kept
