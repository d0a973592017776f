"""Reference mutants: each is one small slip, and each still compiles."""

from __future__ import annotations

import ast
from pathlib import Path

from grader.model.mutations import mutants

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
