"""Feedback that names the likely mistake: diagnoses, mutants, relations, errors, resampling."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np

from grader.data.cache import DIAGNOSES, arrays_path, isolated, load_arrays, store_arrays
from grader.data.expected import expected_outputs
from grader.judging.execution import make_job, run_calls, tagged
from grader.judging.function_checks import row_compare
from grader.judging.mutated import distinct_mutants
from grader.judging.relations import VISIBLE_ONLY, relations
from grader.model.compare import compare
from grader.model.problems import Problem, entries_by_test
from grader.model.report import Report
from grader.model.submission import read_submission, staged
from grader.model.values import Output, compare_output, leaf_tolerance, pack, unpack
from grader.sandbox.protocol import Sandbox
from grader.verdict import Verdict

# One sentence per well-known JAX error, pointing at the fix. Matched against the learner's trace.
ERROR_HINTS = (
    (re.compile(r"grad requires real- or complex-valued inputs"),
     "jax.grad differentiates only with respect to float inputs, and yours got integers (the "
     "sampled actions?): differentiate log_softmax(logits)[a] with respect to the logits, e.g. "
     "jax.grad(lambda l: jax.nn.log_softmax(l)[a])(logits)."),
    (re.compile(r"ConcretizationTypeError|Abstract tracer value encountered"),
     "int() or a Python if/range ran on a traced value inside jit, grad or vmap: convert seed "
     "and n_samples with int() outside the transformed function (or mark them static)."),
    (re.compile(r"PRNG key seed must be an integer"),
     "jax.random.PRNGKey needs an integer seed, and the seed arrives as a float: call "
     "jax.random.PRNGKey(int(seed))."),
    (re.compile(r"Shapes must be 1D sequences of concrete values of integer type"),
     "array shapes must be Python ints: n_samples arrives as a float, so write "
     "shape=(int(n_samples),)."),
)


def advice(problem: Problem, report: Report, outputs: dict[int, Output],
           sandbox: Sandbox) -> list[str]:
    """Hints for a submission that was not accepted; `outputs` are its fixed-test arrays.

    Instructors' diagnoses first; with none matching, the reference's mutants; then, for a
    sound estimator on other samples, that; else a relation between got and expected.
    Hidden means hidden: a hint is built from the visible tests' outputs and messages and from
    verdicts (which every reader sees) alone. A hidden test's output or message is the
    learner's code's, written after it read the hidden inputs: a hint that appeared or not
    with it (a factor, a diagnosis, an error's pattern) would carry those inputs out."""
    visible = {i for i, (_, shown) in _fixed(problem).items() if shown}
    seen = {i: o for i, o in outputs.items() if i in visible}
    hints = [hint for t in report.tests if t.visible and t.verdict == Verdict.RUNTIME_ERROR
             for pattern, hint in ERROR_HINTS if pattern.search(t.message)]
    wrong = {i for i in visible & set(seen)
             if report.tests[i].verdict == Verdict.WRONG_ANSWER}
    matched = diagnoses(problem, seen, sandbox)
    if not matched and wrong:
        matched = mutant_hints(problem, seen, wrong)
    hints += matched
    if not matched and _sound_but_resampled(report) \
            and not _unjudged_leaf_wrong(problem, seen, wrong):
        quote = (f" The statement requires exactly: {problem.spec.sampling}"
                 if problem.spec.sampling else "")
        hints.append("Your estimator is statistically sound (every check over many seeds "
                     "passes) but draws different samples than specified, so its fixed-seed "
                     "outputs differ (split keys, or jax.random.choice?)." + quote)
    elif not matched and wrong & set(range(len(problem.tests))):
        hints += relations(problem, {i: o for i, o in seen.items() if i < len(problem.tests)},
                           expected_outputs(problem))
    elif not matched and _visible_only(report, len(problem.tests)):
        hints.append(VISIBLE_ONLY)
    return list(dict.fromkeys(hints))


def _visible_only(report: Report, fixed: int) -> bool:
    """Every visible fixed test right, every hidden one wrong: told from verdicts alone."""
    shown = [t for t in report.tests[:fixed] if t.visible]
    hidden = [t for t in report.tests[:fixed] if not t.visible]
    return bool(shown) and bool(hidden) \
        and all(t.verdict == Verdict.ACCEPTED for t in shown) \
        and all(t.verdict == Verdict.WRONG_ANSWER for t in hidden)


def _fixed(problem: Problem) -> dict[int, tuple[str, bool]]:
    """Report index -> (name, visible) of every row judged against one expected output: the
    fixed-seed tests and the function checks' rows."""
    out = {i: (c.name, c.visible) for i, c in enumerate(problem.tests)}
    base = len(problem.tests) + len(problem.spec.statistics)
    out.update({base + k: (r.name, r.visible) for k, r in enumerate(problem.check_rows)})
    return out


def _finite_where_both(got: Output, want: Output) -> tuple[Output, Output] | None:
    """Outputs with their NaN and Inf set to 0 where both have the same one, or None when only
    one of them has one somewhere: reproducing a known-wrong example includes reproducing its
    overflow (an Inf, or the NaN a gradient makes of it), and nothing else does."""
    if isinstance(got, dict) and isinstance(want, dict):
        pairs = {k: _finite_where_both(got[k], want[k]) for k in want if k in got}
        if any(v is None for v in pairs.values()):
            return None
        return ({k: v[0] for k, v in pairs.items() if v is not None},
                {k: v[1] for k, v in pairs.items() if v is not None})
    if not (isinstance(got, np.ndarray) and isinstance(want, np.ndarray)) \
            or got.shape != want.shape or got.dtype.kind != "f" or want.dtype.kind != "f":
        return got, want
    bad_got, bad_want = ~np.isfinite(got), ~np.isfinite(want)
    same = (np.isnan(got) & np.isnan(want)) | (np.isinf(got) & (got == want))
    if (bad_got | bad_want).any() and not np.array_equal(same, bad_got | bad_want):
        return None
    if not same.any():
        return got, want
    return np.where(same, 0, got).astype(got.dtype), np.where(same, 0, want).astype(want.dtype)


def _reproduces(problem: Problem, outputs: dict[int, Output],
                theirs: dict[str, Output], must: set[int] | None = None) -> bool:
    """The submission's outputs match `theirs` on every test (and function-check row) both have
    (at least one, and one of `must` when given)."""
    compared = set()
    rows = {len(problem.tests) + len(problem.spec.statistics) + k: r
            for k, r in enumerate(problem.check_rows)}
    for i, got in outputs.items():
        row = rows.get(i)
        want = theirs.get(problem.tests[i].name if row is None else row.name)
        if want is None:
            continue
        finite = _finite_where_both(got, want)
        if finite is None:
            return False
        got, want = finite
        if row is not None:
            c = row_compare(problem, row, got, want)
        else:
            c = compare_output(got, want, problem.spec.entry(problem.tests[i].call),
                               problem.spec.tolerance, dict(problem.tests[i].args))
        if c.verdict != Verdict.ACCEPTED:
            return False
        compared.add(i)
    return bool(compared) and (must is None or bool(compared & must))


def mutant_hints(problem: Problem, outputs: dict[int, Output], wrong: set[int]) -> list[str]:
    """The first mutant of the reference whose outputs the submission reproduces, in words
    (mutants run in this trusted process, computed on first need and cached)."""
    for mutant, theirs in distinct_mutants(problem):
        if _reproduces(problem, outputs, theirs, wrong):
            return [mutant.hint]
    return []


def _unjudged_leaf_wrong(problem: Problem, seen: dict[int, Output], wrong: set[int]) -> bool:
    """A leaf of a tuple or tree return that no statistical check judges is wrong on a visible
    test: the checks passing says nothing of it (a doubled grads.b, where the checks judge
    value), so it is no sign of sound sampling, and the relations judge it instead."""
    if not any(fn.structured for fn in problem.spec.entries):
        return False
    expected = expected_outputs(problem)
    for i in sorted(wrong):
        got = seen.get(i)
        if i >= len(problem.tests) or not isinstance(got, dict):
            continue
        fn = problem.spec.entry(problem.tests[i].call)  # with `functions`: the test's own
        judged = {c.output for c in problem.spec.statistics if c.call == problem.tests[i].call}
        for path, leaf in fn.leaves():
            if path not in judged and path in got and compare(
                    np.asarray(got[path]), expected[i][path], leaf.dtype,
                    leaf_tolerance(problem.spec.tolerance, path),
                    dict(problem.tests[i].args)).verdict != Verdict.ACCEPTED:
                return True
    return False


def _sound_but_resampled(report: Report) -> bool:
    """Fixed-seed tests fail on values alone while every statistical check passes (a hidden
    test's failure counts by its verdict: whether its diff was measured is its code's doing)."""
    fixed = [t for t in report.tests if not t.statistical]
    checks = [t for t in report.tests if t.statistical]
    failing = [t for t in fixed if t.verdict != Verdict.ACCEPTED]
    return bool(checks) and bool(failing) \
        and all(t.verdict == Verdict.ACCEPTED for t in checks) \
        and all(t.verdict == Verdict.WRONG_ANSWER and (t.ratio is not None or not t.visible)
                for t in failing)


def example_outputs(problem: Problem, example: Path, sandbox: Sandbox) -> dict[str, Output]:
    """A known-wrong example's outputs on the fixed tests, computed once in the sandbox.

    Only a complete isolated run is cached: a killed, cut-short or unisolated run's outputs serve
    this grade alone, so a passing fault (a busy machine, a stopped judge) is not kept forever.
    """
    source = read_submission(example)
    path = arrays_path(DIAGNOSES, problem, example.stem, source.source)
    if (hit := load_arrays(path)) is not None:
        return unpack(hit, problem.spec.function, entries_by_test(problem))
    cases, rows = problem.tests, problem.check_rows
    names = [c.name for c in cases] + [r.name for r in rows]
    # A private copy the jail can read: examples sit where only the judge may (the judge
    # image keeps /app root-only), and the jail runs as another uid.
    with staged(source, sandbox.jail_uid) as copy:
        run = run_calls(sandbox, make_job(
            problem, copy, [tagged(c.args, c.call) for c in cases] + [r.call for r in rows],
            call_leaves=(None,) * len(cases) + tuple(r.leaf_paths for r in rows)))
    outputs = {names[i]: o.array for i, o in run.outcomes.items() if o.array is not None}
    if run.stop is None and len(outputs) == len(names) and isolated(sandbox):
        store_arrays(path, pack(outputs))
    return outputs


def remember_example(problem: Problem, code: bytes, outputs: dict[int, Output],
                     sandbox: Sandbox) -> None:
    """A diagnosis example graded as a file (by verify, or the corpus) leaves its outputs as that
    example's: the same bytes, in the same kind of jail, on the same fixed inputs, so the first
    grade it is compared with need not run it again. Kept only from a complete isolated run."""
    fixed = _fixed(problem)
    if not isolated(sandbox) or not set(fixed) <= set(outputs):
        return
    for diagnosis in problem.spec.diagnoses:
        example = problem.submissions_dir / diagnosis.example
        with contextlib.suppress(OSError):
            if example.is_file() and example.read_bytes() == code:
                path = arrays_path(DIAGNOSES, problem, example.stem, code)
                if not path.exists():
                    store_arrays(path, pack({name: outputs[i] for i, (name, _) in fixed.items()}))


def diagnoses(problem: Problem, outputs: dict[int, Output], sandbox: Sandbox) -> list[str]:
    """The message of every known-wrong example whose outputs the submission reproduces."""
    found = []
    for diagnosis in problem.spec.diagnoses:
        example = problem.submissions_dir / diagnosis.example
        if not example.is_file():
            continue  # verify reports it; a learner's grade must not fail over it
        if _reproduces(problem, outputs, example_outputs(problem, example, sandbox)):
            found.append(diagnosis.message)
    return found
