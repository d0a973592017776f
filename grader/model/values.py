"""A function's outputs as the judge holds them: one array, or (a tuple or tree return) a dict of
arrays by leaf path ("value", "grads.w"), flattened by the declared structure, never stacked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.model.compare import Comparison, compare
from grader.model.spec import Function, Leaf, Leaves, Returns, Tolerance, TreeReturns
from grader.sandbox.runner import Mismatch, flatten
from grader.verdict import Verdict

# np.ndarray, or for a tuple or tree return dict[str, np.ndarray] by leaf path. Typed Any so the
# many callers written for one array (tests among them) need no cast; compare_output tells.
Output = Any
SEP = "|"  # test name | leaf path, as a cache file's array name


def _tree_shape(leaves: Leaves) -> dict[str, Any]:
    return {"kind": "tree", "keys": [[k, {"kind": "array"} if isinstance(v, Leaf)
                                      else _tree_shape(v)] for k, v in leaves.items()]}


def structure(fn: Function) -> dict[str, Any] | None:
    """The declared return structure as the runner's `flatten` reads it; None for one array."""
    def tree(r: TreeReturns) -> dict[str, Any]:
        if r.like is not None:
            leaves = next(p for p in fn.params if p.name == r.like).leaves  # type: ignore[union-attr]
        else:
            leaves = r.leaves
        return _tree_shape(leaves)

    r = fn.returns
    if isinstance(r, Returns):
        return None
    if isinstance(r, TreeReturns):
        return tree(r)
    return {"kind": "tuple", "items": [[i.name, {"kind": "array"} if isinstance(i, Returns)
                                        else tree(i)] for i in r.items]}


def describe(fn: Function) -> str:
    """The declared return in words, from the spec alone (safe for a hidden test)."""
    shape = structure(fn)
    if shape is None:
        return "one array"
    if shape["kind"] == "tuple":
        return f"a tuple ({', '.join(name for name, _ in shape['items'])})"
    return f"a dict with keys {sorted(k for k, _ in shape['keys'])}"


def trusted_output(fn: Function, result: Any) -> Output:
    """Trusted code's result (the reference, a mutant) flattened like a learner's; raises
    Mismatch or TypeError when it is not of the declared structure."""
    shape = structure(fn)
    if shape is None:
        return np.asarray(result)
    leaves = flatten(result, shape)
    return dict(zip((p for p, _ in fn.leaves()), leaves, strict=True))


def leaf_tolerance(tol: Tolerance, path: str) -> Tolerance:
    """The tolerance of one leaf: the most specific `per_output` entry (grads.w, then grads)."""
    parts = path.split(".") if path else []
    for i in range(len(parts), 0, -1):
        over = tol.per_output.get(".".join(parts[:i]))
        if over is not None:
            return tol.model_copy(update={k: v for k, v in over.model_dump().items()
                                          if v is not None})
    return tol


def compare_output(got: Output, want: Output, fn: Function, tol: Tolerance,
                   args: Mapping[str, object]) -> Comparison:
    """One output against the expected one; for a tuple or tree, leaf by leaf in declared order,
    the first failing leaf named in the message ("grads.b: max abs diff ...")."""
    if not isinstance(want, dict):
        assert isinstance(got, np.ndarray)
        return compare(got, want, str(want.dtype), tol, dict(args))
    assert isinstance(got, dict)
    results = []
    for path, leaf in fn.leaves():
        c = compare(got[path], want[path], leaf.dtype, leaf_tolerance(tol, path), dict(args))
        results.append((path, c))
    ratios = [c.ratio for _, c in results if c.ratio is not None]
    abs_ = [c.max_abs_diff for _, c in results if c.max_abs_diff is not None]
    rel = [c.max_rel_diff for _, c in results if c.max_rel_diff is not None]
    failing = [(p, c) for p, c in results if c.verdict != Verdict.ACCEPTED]
    top = (max(abs_) if abs_ else None, max(rel) if rel else None)
    if not failing:
        return Comparison(Verdict.ACCEPTED, "", *top, ratio=max(ratios) if ratios else None)
    path, first = failing[0]
    more = (f"{len(failing) - 1} more of the {len(results)} outputs fail: "
            f"{', '.join(p for p, _ in failing[1:])}",) if len(failing) > 1 else ()
    ratio = max(ratios) if ratios and all(c.ratio is not None for _, c in failing) else None
    return Comparison(first.verdict, f"{path}: {first.message}", *top,
                      details=first.details + more, ratio=ratio,
                      summary=f"{path}: {first.summary}")


def pack(outputs: Mapping[str, Output]) -> dict[str, np.ndarray]:
    """Outputs by test name as named arrays for a cache file: a tree's leaves as name|path."""
    out: dict[str, np.ndarray] = {}
    for name, o in outputs.items():
        if isinstance(o, dict):
            out.update({f"{name}{SEP}{p}": a for p, a in o.items()})
        else:
            out[name] = o
    return out


def unpack(arrays: Mapping[str, np.ndarray], fn: Function,
           by_name: Mapping[str, Function] | None = None) -> dict[str, Output]:
    """`pack` undone: a test whose leaves are not all there is left out. `by_name`: with
    `functions`, the entry of each test by name (others: `fn`)."""
    if by_name is not None:
        names = {k.split(SEP, 1)[0] for k in arrays}
        out: dict[str, Output] = {}
        for n in sorted(names):
            one = unpack({k: a for k, a in arrays.items() if k.split(SEP, 1)[0] == n},
                         by_name.get(n, fn))
            out.update(one)
        return out
    if not fn.structured:
        return dict(arrays)
    paths = [p for p, _ in fn.leaves()]
    names = {k.split(SEP, 1)[0] for k in arrays if SEP in k}
    return {n: {p: arrays[f"{n}{SEP}{p}"] for p in paths} for n in sorted(names)
            if all(f"{n}{SEP}{p}" in arrays for p in paths)}


def packed_names(names: list[str], fn: Function,
                 by_name: Mapping[str, Function] | None = None) -> list[str]:
    out = []
    for n in names:
        f = fn if by_name is None else by_name.get(n, fn)
        out += [f"{n}{SEP}{p}" for p, _ in f.leaves()] if f.structured else [n]
    return out


__all__ = ["Mismatch", "Output", "compare_output", "describe", "pack", "structure",
           "trusted_output", "unpack"]
