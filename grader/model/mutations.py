"""Single-site AST mutations of a function: the small slips a learner makes, each in their words."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard

SWAPS = {"mean": "sum", "sum": "mean", "log_softmax": "softmax", "softmax": "log_softmax"}
SCALES = ("exp", "sqrt", "softplus")  # calls that make a scale, which a learner may square
SHORT = 48  # longest expression quoted to a learner; longer ones are described in words


@dataclass(frozen=True)
class Mutant:
    line: int
    description: str  # for instructors: the operator applied
    change: str  # for learners: "`softmax` in place of `log_softmax`"
    source: str
    solution: str = "the reference"  # whose slip, for learners: "a correct solution" for others

    @property
    def hint(self) -> str:
        return f"Your result is what {self.solution} gives with {self.change}."


Make = Callable[[Any], ast.AST]


def _quoted(new: ast.AST, old: ast.AST, words: str) -> str:
    """`new` in place of `old` when both read at a glance, else the operator in words."""
    a, b = ast.unparse(new), ast.unparse(old)
    return f"`{a}` in place of `{b}`" if max(len(a), len(b)) <= SHORT else words


def _call_to(node: ast.AST, name: str) -> TypeGuard[ast.Call]:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
        and node.func.attr == name


def _swapped(n: Any) -> ast.AST:
    """The same call with mean and sum, or softmax and log_softmax, swapped."""
    f = n.func
    return ast.Call(ast.Attribute(f.value, SWAPS[f.attr], f.ctx), n.args, n.keywords)


def _off_by_one(op: ast.operator) -> Make:
    return lambda n: ast.BinOp(n, op, ast.Constant(1))


def _binop(node: ast.BinOp) -> Iterator[tuple[str, Make, str]]:
    minus = isinstance(node.op, ast.Sub)
    sign, other = ("-", "+") if minus else ("+", "-")
    op = ast.Add if minus else ast.Sub
    flipped = ast.BinOp(node.left, op(), node.right)
    right = ast.unparse(node.right)
    short = len(right) <= SHORT
    yield (f"flip {sign} to {other}", lambda n: ast.BinOp(n.left, op(), n.right),
           _quoted(flipped, node, f"`{other} {right}` in place of `{sign} {right}`" if short
                   else f"a `{other}` in place of a `{sign}`"))
    yield (f"drop the term after {sign}", lambda n: n.left,
           _quoted(node.left, node, f"no `{sign} {right}` term" if short
                   else f"a term `{sign} ...` left out"))


def _sites(fn: ast.FunctionDef) -> Iterator[tuple[ast.AST, str, Make, str]]:
    """(node, description, replacement, learner's words) for every mutation the body admits."""
    for node in ast.walk(fn):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub | ast.Add):
            for description, make, words in _binop(node):
                yield node, description, make, words
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in SWAPS:
            attr = node.func.attr
            yield (node, f"{attr} -> {SWAPS[attr]}", _swapped,
                   _quoted(_swapped(node), node, f"`{SWAPS[attr]}` in place of `{attr}`"))
        if _call_to(node, "log_softmax") and node.args:
            what = ast.unparse(node.args[0])
            yield (node, "log_softmax(x) -> x (raw logits)", lambda n: n.args[0],
                   f"the raw `{what}` in place of `log_softmax({what})`")
        elif _call_to(node, "stop_gradient") and node.args:
            what = ast.unparse(node.args[0])
            yield (node, "drop stop_gradient", lambda n: n.args[0],
                   f"no `stop_gradient` around `{what}` (gradients flow through it)")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "int" and node.args:
            for op, sign in ((ast.Add(), "+"), (ast.Sub(), "-")):
                yield (node, f"int(x) -> int(x) {sign} 1 (off by one)", _off_by_one(op),
                       f"{_quoted(_off_by_one(op)(node), node, 'a count')} (off by one)")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield (node, "drop a unary minus", lambda n: n.operand,
                   _quoted(node.operand, node, "a minus sign left out"))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) \
                and any(_call_to(node.value, f) for f in SCALES):
            name = node.targets[0].id
            # A scale mistaken for its square or its root: variance for standard deviation.
            yield (node, f"square {name}", lambda n: ast.Assign(
                n.targets, ast.BinOp(n.value, ast.Pow(), ast.Constant(2)), n.type_comment),
                f"`{name}` squared")
            yield (node, f"square root of {name}", lambda n: ast.Assign(
                n.targets, ast.BinOp(n.value, ast.Pow(), ast.Constant(0.5)), n.type_comment),
                f"the square root of `{name}`")


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, make: Make) -> None:
        self.target, self.make = target, make

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.make(copy.deepcopy(node))
        result: ast.AST = super().visit(node)
        return result


def mutants(source: str, function: str, solution: str = "the reference") -> list[Mutant]:
    """Every single-site mutant of `function` in `source` (other functions stay intact);
    `solution` names the source in a hint ("the reference", "a correct solution")."""
    tree = ast.parse(source)
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function),
              None)
    if fn is None:
        return []
    out = []
    for node, description, make, words in list(_sites(fn)):
        # Mutate a fresh copy: find the copy's twin of `node` by its source position.
        fresh, twin = _twin(copy.deepcopy(tree), node)
        mutated = _Replace(twin, make).visit(fresh)
        text = ast.unparse(ast.fix_missing_locations(mutated))
        out.append(Mutant(getattr(node, "lineno", 0), description, words, text, solution))
    return out


def _twin(tree: ast.Module, node: ast.AST) -> tuple[ast.Module, ast.AST]:
    key = (type(node), getattr(node, "lineno", None), getattr(node, "col_offset", None),
           getattr(node, "end_col_offset", None))
    for n in ast.walk(tree):
        if (type(n), getattr(n, "lineno", None), getattr(n, "col_offset", None),
                getattr(n, "end_col_offset", None)) == key:
            return tree, n
    raise LookupError("mutation site vanished")
