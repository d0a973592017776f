"""Reference mutants: each is one small slip, and each still compiles."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from grader.judging.execution import Outcome, Run
from grader.judging.mutated import (
    culprit,
    distinct,
    entry,
    program,
    reference_mutants,
    trusted_sources,
)
from grader.model.mutations import Mutant, mutants
from grader.model.problems import load_problem
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
