"""Mutation check for instructors: small slips in the reference that the tests must catch."""

from __future__ import annotations

import ast
import copy
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.data.cache import compile_cache_dir
from grader.judging.judge import grade_submission
from grader.model.problems import Problem
from grader.sandbox.factory import make_sandbox
from grader.sandbox.protocol import Sandbox
from grader.verdict import Verdict

SWAPS = {"mean": "sum", "sum": "mean", "log_softmax": "softmax", "softmax": "log_softmax"}


@dataclass(frozen=True)
class Mutant:
    line: int
    description: str
    source: str


Make = Callable[[Any], ast.AST]


def _sites(fn: ast.FunctionDef) -> Iterator[tuple[ast.AST, str, Make]]:
    """(node, description, replacement) for every mutation the function's body admits."""
    for node in ast.walk(fn):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub | ast.Add):
            minus = isinstance(node.op, ast.Sub)
            flip: Make = (lambda n: ast.BinOp(n.left, ast.Add(), n.right)) if minus \
                else (lambda n: ast.BinOp(n.left, ast.Sub(), n.right))
            sign, other = ("-", "+") if minus else ("+", "-")
            yield node, f"flip {sign} to {other}", flip
            yield node, f"drop the term after {sign}", lambda n: n.left
        elif isinstance(node, ast.Attribute) and node.attr in SWAPS:
            yield node, f"{node.attr} -> {SWAPS[node.attr]}", \
                lambda n: ast.Attribute(n.value, SWAPS[n.attr], n.ctx)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "log_softmax" and node.args:
            yield node, "log_softmax(x) -> x (raw logits)", lambda n: n.args[0]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "int" and node.args:
            yield node, "int(x) -> int(x) + 1 (off by one)", \
                lambda n: ast.BinOp(n, ast.Add(), ast.Constant(1))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield node, "drop a unary minus", lambda n: n.operand


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, make: Make) -> None:
        self.target, self.make = target, make

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.make(copy.deepcopy(node))
        result: ast.AST = super().visit(node)
        return result


def mutants(source: str, function: str) -> list[Mutant]:
    """Every single-site mutant of `function` in `source` (other functions stay intact)."""
    tree = ast.parse(source)
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function),
              None)
    if fn is None:
        return []
    out = []
    for node, description, make in list(_sites(fn)):
        # Mutate a fresh copy: find the copy's twin of `node` by its source position.
        fresh, twin = _twin(copy.deepcopy(tree), node)
        mutated = _Replace(twin, make).visit(fresh)
        text = ast.unparse(ast.fix_missing_locations(mutated))
        out.append(Mutant(getattr(node, "lineno", 0), description, text))
    return out


def _twin(tree: ast.Module, node: ast.AST) -> tuple[ast.Module, ast.AST]:
    key = (type(node), getattr(node, "lineno", None), getattr(node, "col_offset", None),
           getattr(node, "end_col_offset", None))
    for n in ast.walk(tree):
        if (type(n), getattr(n, "lineno", None), getattr(n, "col_offset", None),
                getattr(n, "end_col_offset", None)) == key:
            return tree, n
    raise LookupError("mutation site vanished")


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    verdict: Verdict

    @property
    def survived(self) -> bool:
        return self.verdict == Verdict.ACCEPTED


def run_mutants(problem: Problem, sandbox: Sandbox | None = None) -> list[MutantResult]:
    """Grades each mutant of the reference like a submission; survivors are holes in the tests."""
    sandbox = sandbox or make_sandbox("local", compile_cache_dir())
    source = problem.reference_path.read_text(encoding="utf-8")
    results = []
    with tempfile.TemporaryDirectory(prefix="jaxjudge-mutants-") as tmp:
        for i, m in enumerate(mutants(source, problem.spec.function.name)):
            path = Path(tmp) / f"mutant_{i}.py"
            path.write_text(m.source, encoding="utf-8")
            path.chmod(0o644)
            report = grade_submission(problem, path, sandbox, advise=False)
            results.append(MutantResult(m, report.verdict))
    return results
