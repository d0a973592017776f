"""A spec's entries: the one `function`, or each of `functions`, checked against the tests,
generated tests and statistical checks that call it."""

from __future__ import annotations

from typing import Any

from grader.model.checks import SumCheck, SumZeroCheck
from grader.model.given import CallableParam
from grader.model.kinds import Function, ScalarParam


def entry_checks(spec: Any, fn: Function, several: bool) -> set[str]:
    """The cross-checks of one entry against the tests and checks that call it (ValueError);
    its outputs' paths (and their prefixes), which `tolerance.per_output` may name."""
    def mine(t: Any) -> bool:
        return not several or t.call == fn.name

    at = f"functions {fn.name!r}: " if several else ""
    names = {p.name for p in fn.params}
    binders = {p.binds: p.name for p in fn.params if isinstance(p, ScalarParam) and p.binds}
    symbols = fn.bound_dims() - set(binders)
    leaf_paths = [path for path, _ in fn.leaves()]
    for c in filter(mine, spec.statistics):
        if c.output is not None and c.output not in leaf_paths:
            shown = ", ".join(p or "(one array)" for p in leaf_paths)
            raise ValueError(f"{at}statistics {c.name!r} output {c.output!r} is no leaf of the "
                             f"return (leaves: {shown})")
        if c.output is None and fn.structured:
            raise ValueError(f"{at}statistics {c.name!r}: the return is a tuple or tree; say "
                             f"which leaf the check judges with `output:` (one of "
                             f"{', '.join(leaf_paths)})")
    if not any(map(mine, spec.tests)) and not any(map(mine, spec.generated)):
        raise ValueError(at + "a problem needs at least one entry in `tests` or `generated`"
                         + (" that calls it" if several else ""))
    for t in filter(mine, spec.tests):
        _same_keys(f"{at}test {t.name!r} args", set(t.args), names)
    for g in filter(mine, spec.generated):
        _same_keys(f"{at}generated {g.name!r} args", set(g.args), names)
        bound = sorted(set(g.sizes) & set(binders))
        if bound:
            raise ValueError(f"{at}generated {g.name!r} sizes name {bound}, which parameter "
                             f"{binders[bound[0]]!r} binds: draw that parameter instead")
        unknown = set(g.sizes) - symbols
        if unknown:
            raise ValueError(f"{at}generated {g.name!r} sizes name {sorted(unknown)}, not dims")
        missing = symbols - set(g.sizes)
        if missing:
            raise ValueError(f"{at}generated {g.name!r} sizes lack {sorted(missing)}")
    if spec.tolerance.scale is not None and spec.tolerance.scale.arg not in names:
        raise ValueError(f"{at}tolerance.scale.arg {spec.tolerance.scale.arg!r} is no "
                         "parameter")
    if spec.tolerance.scale is not None and isinstance(
            fn.param(spec.tolerance.scale.arg), CallableParam):
        raise ValueError(f"{at}tolerance.scale.arg {spec.tolerance.scale.arg!r} is a function, "
                         "which has no size: name an array")
    for c in filter(mine, spec.statistics):
        if c.seed_param in c.args:
            raise ValueError(f"{at}statistics {c.name!r}: {c.seed_param!r} is the seed; the "
                             "check draws it from seed_offset, remove it from args")
        _same_keys(f"{at}statistics {c.name!r} args", set(c.args) | {c.seed_param}, names)
        if isinstance(c, SumZeroCheck | SumCheck) and c.scale is not None \
                and c.scale.arg not in names:
            raise ValueError(f"{at}statistics {c.name!r} scale.arg is no parameter")
    outputs = {path for path, _ in fn.leaves() if path}
    return outputs | {path.rsplit(".", i)[0] for path in outputs for i in range(1, 9)}


def _same_keys(what: str, got: set[str], want: set[str]) -> None:
    if got != want:
        parts = []
        if want - got:
            parts.append(f"missing {sorted(want - got)}")
        if got - want:
            parts.append(f"unknown {sorted(got - want)}")
        raise ValueError(f"{what}: {', '.join(parts)} (parameters are {sorted(want)})")


