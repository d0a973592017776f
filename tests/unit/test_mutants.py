"""Reference mutants: each is one small slip, and each still compiles."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from grader.errors import SpecError
from grader.judging.execution import Outcome, Run
from grader.judging.mutated import (
    culprit,
    distinct,
    entry,
    program,
    reference_mutants,
    sourced_mutants,
    trusted_sources,
)
from grader.model.mutations import Mutant, mutants
from grader.model.problems import Problem, load_problem
from grader.model.report import Report, TestResult
from grader.sandbox.protocol import Sandbox
from grader.tools.mutants import run_mutants, stale_explanations
from grader.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]

SOURCE = '''
import jax.numpy as jnp

def f(x, n):
    s = jnp.exp(x)
    return jnp.mean(jax.nn.log_softmax(x) - x, axis=0) * int(n) + -jax.lax.stop_gradient(s)

def helper(x):
    return x - 1
'''


def test_every_kind_of_mutation_is_offered_once_per_site() -> None:
    found = {m.description for m in mutants(SOURCE, "f")}
    assert found == {"flip - to +", "drop the term after -", "flip + to -",
                     "drop the term after +", "mean -> sum", "log_softmax -> softmax",
                     "log_softmax(x) -> x (raw logits)", "int(x) -> int(x) + 1 (off by one)",
                     "int(x) -> int(x) - 1 (off by one)", "drop a unary minus",
                     "drop stop_gradient", "square s", "square root of s"}


def test_each_mutant_says_its_change_in_the_learners_words() -> None:
    said = {m.description: m.hint for m in mutants(SOURCE, "f")}
    assert said["log_softmax -> softmax"] == (
        "Your result is what the reference gives with `jax.nn.softmax(x)` in place of "
        "`jax.nn.log_softmax(x)`.")
    assert "`jax.nn.log_softmax(x) + x` in place of `jax.nn.log_softmax(x) - x`" \
        in said["flip - to +"]
    assert "`s` squared" in said["square s"]
    assert "no `stop_gradient` around `s`" in said["drop stop_gradient"]
    assert "`int(n) - 1` in place of `int(n)` (off by one)" \
        in said["int(x) -> int(x) - 1 (off by one)"]


def test_mutants_change_only_the_graded_function() -> None:
    for m in mutants(SOURCE, "f"):
        tree = ast.parse(m.source)  # still valid Python
        helper = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "helper")
        assert ast.unparse(helper) == "def helper(x):\n    return x - 1"
        assert m.source != ast.unparse(ast.parse(SOURCE))


def test_raw_logits_mutant_drops_log_softmax() -> None:
    m = next(m for m in mutants(SOURCE, "f") if m.description.endswith("(raw logits)"))
    assert "log_softmax" not in m.source and "jnp.mean(x - x" in m.source


def test_shipped_references_have_mutants() -> None:
    for problem in ("reinforce_grad", "reinforce_baseline_grad", "reparam_grad"):
        source = (ROOT / "reference" / f"{problem}.py").read_text()
        assert len(mutants(source, problem)) >= 5


def test_mutants_come_from_every_trusted_solution_reference_first() -> None:
    problem = load_problem("reinforce_grad")
    sources = trusted_sources(problem)
    assert sources == [problem.reference_path,
                       *(problem.submissions_dir / n for n in problem.spec.trusted_examples)]
    found = reference_mutants(problem)
    per_source = [mutants(p.read_text(), problem.id) for p in sources]
    # Each source's in order, less those whose change an earlier source's reads as already.
    said: set[str] = set()
    want = []
    for ms in per_source:
        want += [m.source for m in ms if m.change not in said]
        said |= {m.change for m in ms}
    assert [m.source for m in found] == want
    assert len(want) < sum(map(len, per_source))  # `int(seed) + 1` in several of them
    own = len(per_source[0])
    assert own and len(found) > own  # the trusted examples add mutants of their own
    assert all(m.hint.startswith("Your result is what the reference gives with ")
               for m in found[:own])
    assert all(m.hint.startswith("Your result is what a correct solution gives with ")
               for m in found[own:])


def test_a_missing_trusted_example_adds_no_mutant(tmp_path: Path) -> None:
    shipped = load_problem("discounted_returns")
    shutil.copytree(shipped.spec_path.parent, tmp_path / "problems" / shipped.id)
    shutil.copytree(shipped.reference_path.parent, tmp_path / "reference")
    problem = load_problem(shipped.id, tmp_path)  # no submissions folder: no trusted example
    assert trusted_sources(problem) == [problem.reference_path]
    assert len(reference_mutants(problem)) == len(
        mutants(problem.reference_path.read_text(), shipped.id))


def test_one_program_calls_each_mutant_its_own_module_made_once() -> None:
    source = "calls = []\ndef f(x):\n    calls.append(x)\n    return x - 1\n"
    batch = mutants(source, "f")  # flip - to +, drop the term after -
    namespace: dict[str, Any] = {}
    exec(program("/somewhere/ref.py", ["f"], batch), namespace)
    results = {d.description: namespace[entry(i, "f")](x=10) for i, d in enumerate(batch)}
    assert results == {"flip - to +": 11, "drop the term after -": 10}
    namespace[entry(0, "f")](x=3)
    loaded = namespace["_LOADED"]
    assert len(loaded) == 2 and loaded[0].calls == [10, 3] and loaded[1].calls == [10]
    assert loaded[0].__file__ == "/somewhere/ref.py"


def test_the_call_that_ended_a_run_is_blamed() -> None:
    assert culprit(Run(outcomes={0: Outcome(), 1: Outcome()}), 2) is None
    # Killed while call 3 ran (out of time): call 3, even with later calls missing.
    assert culprit(Run(outcomes={0: Outcome(), 1: Outcome(), 2: Outcome()}, current=3), 6) == 3
    # Out of memory in call 1 (the runner stops after it): call 1, not the next one.
    memory = Outcome(None, Verdict.MEMORY_LIMIT_EXCEEDED)
    assert culprit(Run(outcomes={0: Outcome(), 1: memory}), 4) == 1
    # Ended between calls: the first not run.
    assert culprit(Run(outcomes={0: Outcome(), 1: Outcome()}), 4) == 2


def test_mutants_with_the_expected_or_an_earlier_ones_outputs_are_dropped() -> None:
    problem = load_problem("discounted_returns")
    shown = [c for c in problem.tests if c.visible]
    expected = {c.name: np.arange(5, dtype=np.float32) for c in shown}
    first, second = shown[0].name, shown[1].name

    def mutant(n: int, solution: str = "the reference") -> Mutant:
        return Mutant(n, f"m{n}", f"change {n}", f"source {n}", solution)

    off = {n: a + 1 for n, a in expected.items()}
    found = [
        (mutant(0), {}),  # answered no test
        (mutant(1), dict(expected)),  # the expected outputs: no slip at all
        (mutant(2), {first: expected[first] + 1e-7}),  # within the tolerance: the same
        (mutant(3), off),
        (mutant(4), {n: a + 1e-7 for n, a in off.items()}),  # mutant 3's outputs again
        (mutant(5, "a correct solution"), dict(off)),  # and from another solution
        (mutant(6, "a correct solution"), {first: off[first]}),  # fewer tests: its own
        (mutant(7, "a correct solution"), {first: expected[first], second: off[second]}),
    ]
    kept = distinct(problem, found, expected)
    assert [m.line for m, _ in kept] == [3, 6, 7]


def _copy(problem_id: str, tmp_path: Path, extra: str = "") -> Problem:
    """A shipped problem under tmp_path, its problem.yaml with `extra` appended."""
    shipped = load_problem(problem_id)
    shutil.copytree(shipped.spec_path.parent, tmp_path / "problems" / problem_id)
    shutil.copytree(shipped.reference_path.parent, tmp_path / "reference")
    shutil.copytree(shipped.submissions_dir, tmp_path / "submissions" / problem_id)
    spec = tmp_path / "problems" / problem_id / "problem.yaml"
    spec.write_text(spec.read_text() + extra)
    return load_problem(problem_id, tmp_path)


class _FakeGrade:
    """Grades in-process: accepts a mutant whose source is in `accept`, else a wrong answer;
    records every source it was given."""

    def __init__(self, accept: frozenset[str] = frozenset()) -> None:
        self.accept = accept
        self.graded: list[str] = []

    def __call__(self, problem: Problem, path: Path, _: Sandbox) -> Report:
        source = path.read_text()
        self.graded.append(source)
        verdict = Verdict.ACCEPTED if source in self.accept else Verdict.WRONG_ANSWER
        return Report(problem.id, path.name, [TestResult("t", verdict, True, 1.0)], ["hint"],
                      {}, 0.0)


def test_verify_mutants_grades_every_trusted_solution_once_per_change(tmp_path: Path) -> None:
    problem = _copy("bernoulli_score_grad", tmp_path)
    grade = _FakeGrade()
    results = run_mutants(problem, sandbox=cast(Sandbox, None), grade=grade)
    names = ["reference", *problem.spec.trusted_examples]
    # Every trusted solution, reference first, each mutant graded once and named by its source.
    assert grade.graded == [m.source for m in reference_mutants(problem)]
    assert [r.source for r in results] == sorted((r.source for r in results), key=names.index)
    assert {r.source for r in results} == set(names)
    for name in names[1:]:
        own = mutants((problem.submissions_dir / name).read_text(), problem.id)
        kept = [r.mutant for r in results if r.source == name]
        assert kept and {m.source for m in kept} <= {m.source for m in own}
        assert {m.line for m in kept} <= {m.line for m in own}  # its own line numbers
    # A change an earlier solution's mutant reads as is not graded again.
    changes = [r.mutant.change for r in results]
    assert len(changes) == len(set(changes))
    every = sum(len(mutants((problem.submissions_dir / n).read_text(), problem.id))
                for n in names[1:]) + len(mutants(problem.reference_path.read_text(), problem.id))
    assert len(results) < every
    assert not any(r.survived for r in results)


def test_equivalent_mutants_explain_survivors_and_stale_ones_are_named(tmp_path: Path) -> None:
    shipped = load_problem("bernoulli_score_grad")
    found = sourced_mutants(shipped)
    ref = next(m for p, m in found if p == shipped.reference_path)
    name = shipped.spec.trusted_examples[-1]
    other = next(m for p, m in found if p.name == Path(name).name)
    caught = next(m for p, m in found if p == shipped.reference_path and m is not ref)
    problem = _copy("bernoulli_score_grad", tmp_path, f"""
equivalent_mutants:
  - source: reference
    line: {ref.line}
    change: {json.dumps(ref.change)}
    reason: the same answer
  - source: {name}
    line: {caught.line + 500}
    change: {json.dumps(other.change)}
    reason: a line that moved
  - source: reference
    line: {caught.line}
    change: {json.dumps(caught.change)}
    reason: not so
""")
    grade = _FakeGrade(frozenset({ref.source, other.source}))
    results = run_mutants(problem, sandbox=cast(Sandbox, None), grade=grade)
    by_source = {r.mutant.source: r for r in results}
    assert by_source[ref.source].explained == "the same answer"
    assert not by_source[ref.source].hole
    assert by_source[other.source].hole  # survived, and its explanation names another line
    assert by_source[caught.source].explained == "not so"  # named, yet caught: stale below
    assert [r.mutant.source for r in results if r.hole] == [other.source]
    stale = stale_explanations(problem, results)
    assert len(stale) == 2
    assert f"{name} line {caught.line + 500}" in stale[0] and "names no mutant" in stale[0]
    assert f"reference line {caught.line}" in stale[1] and "is caught (wrong_answer)" in stale[1]


@pytest.mark.parametrize(("entry", "words"), [
    ("  - {source: accepted/not_trusted.py, line: 3, change: x, reason: y}", "no trusted"),
    ("  - {source: reference, line: 3, change: x, reason: y, note: z}", "unknown key"),
    ("  - {source: reference, line: 3, change: x}", "required"),
    ("  - {source: reference, line: 3, change: x, reason: y}\n"
     "  - {source: reference, line: 3, change: x, reason: z}", "twice"),
])
def test_equivalent_mutants_is_strict(tmp_path: Path, entry: str, words: str) -> None:
    with pytest.raises(SpecError, match=words):
        _copy("bernoulli_score_grad", tmp_path, f"equivalent_mutants:\n{entry}\n")
