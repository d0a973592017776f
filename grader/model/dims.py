"""Symbolic dims of a spec's shapes: an int, a name (K), or names and ints joined by + - * (T+1)."""

from __future__ import annotations

import ast
import re

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HOW = 'write a dim as an int, a name (K), or names and ints joined by + - * (e.g. "T+1", "2*K")'
_OPS = (ast.Add, ast.Sub, ast.Mult)


class DimError(ValueError):
    """A dim expression that cannot be evaluated, or whose value is no size."""


def _tree(expr: str) -> ast.expr:
    if len(expr) > 100:
        raise DimError(f"dim {expr[:20]!r}... is too long; {HOW}")
    try:
        node = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        raise DimError(f"cannot evaluate dim {expr!r}: {HOW}") from None
    for n in ast.walk(node):
        ok = (isinstance(n, ast.BinOp | ast.operator | ast.Name | ast.Load) and \
            (not isinstance(n, ast.operator) or isinstance(n, _OPS))) \
            or (isinstance(n, ast.Constant) and type(n.value) is int)
        if not ok:
            raise DimError(f"cannot evaluate dim {expr!r}: {HOW}")
    return node


def symbols(dim: int | str) -> set[str]:
    """The names a dim uses (none for an int); raises DimError for what it cannot evaluate."""
    if isinstance(dim, int):
        return set()
    return {n.id for n in ast.walk(_tree(dim)) if isinstance(n, ast.Name)}


def is_name(dim: int | str) -> bool:
    return isinstance(dim, str) and bool(NAME.match(dim))


def evaluate(dim: int | str, sizes: dict[str, int]) -> int:
    """The dim's size given the named sizes; a negative result is a DimError."""
    if isinstance(dim, int):
        return dim
    if is_name(dim):
        return sizes[dim]

    def value(n: ast.expr) -> int:
        if isinstance(n, ast.Constant):
            assert type(n.value) is int
            return n.value
        if isinstance(n, ast.Name):
            return sizes[n.id]
        assert isinstance(n, ast.BinOp)
        a, b = value(n.left), value(n.right)
        return a + b if isinstance(n.op, ast.Add) else a - b if isinstance(n.op, ast.Sub) \
            else a * b

    size = value(_tree(dim))
    if size < 0:
        raise DimError(f"dim {dim!r} is {size} for {sizes}: no array has a negative size")
    return size
