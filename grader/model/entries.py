"""A spec's entries: the one `function`, or each of `functions`, checked against the tests,
generated tests and statistical checks that call it."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from grader.model.checks import SumCheck, SumZeroCheck
from grader.model.given import CallableParam
from grader.model.kinds import Function, ScalarParam, TupleReturns
from grader.model.strict import IDENT, Strict

# `$k` (the reference's output of step k) or `$k.a.b` (an item of a tuple, a subtree or leaf).
REF = re.compile(r"\$(\d+)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
STEP = "{name}.step{k}"  # a sequence's step as a test: its report line's name


class Step(Strict):
    """One call of a sequence: the entry it calls and its arguments, where a string `$k` (or
    `$k.item.key`) is the reference's output of step k (an item or subtree of it)."""

    call: str = Field(pattern=IDENT, description="the entry this step calls (a `functions` name)")
    args: dict[str, Any] = Field(description=(
        "the entry's arguments; `$k` is the reference's output of an earlier step k (from 0), "
        "`$k.name` an item of a tuple return or a subtree or leaf of a tree (`$0.new_state.m`)"))


def step_ref(value: Any) -> tuple[int, str] | None:
    """(k, path) of a `$k.path` argument; None for any other value."""
    m = REF.fullmatch(value) if isinstance(value, str) else None
    return (int(m.group(1)), m.group(2)[1:]) if m else None


def refs_in(value: Any) -> list[tuple[int, str]]:
    """Every `$k.path` in an argument, nested in mappings and lists too."""
    if isinstance(value, dict):
        return [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs_in(v)]
    ref = step_ref(value)
    return [ref] if ref else []


def check_call(spec: Any, call: str | None, where: str, verb: str = "calls") -> None:
    """A test's, step's or check's `call`: an entry's name with `functions`, absent with
    `function` (ValueError naming `where` and the fix)."""
    declared = [f.name for f in spec.entries]
    if spec.functions is not None and call not in declared:
        raise ValueError(f"{where}: `call: {call}` names no entry; say which it {verb}, one of "
                         f"{declared}")
    if spec.functions is None and call is not None:
        raise ValueError(f"{where}: `call` is for problems with `functions`; remove it (it "
                         f"{verb} `function`)")


def test_names(t: Any) -> list[str]:
    """The report lines of an explicit test: its name, or one per step of a sequence."""
    return [t.name] if t.steps is None else \
        [STEP.format(name=t.name, k=k) for k in range(len(t.steps))]


def addressable(fn: Function) -> set[str]:
    """What `$k.path` may name of an entry's output: a leaf, a tuple item or a subtree, or the
    whole output ("") unless it is a tuple (no parameter takes a tuple)."""
    parts = [path.split(".") for path, _ in fn.leaves() if path]
    out = {".".join(p[:i]) for p in parts for i in range(1, len(p) + 1)}
    return out if isinstance(fn.returns, TupleReturns) else out | {""}


def check_steps(spec: Any, i: int, t: Any) -> None:
    """A sequence's steps: declared entries, their parameters, and `$k` of earlier steps that
    name a part of that step's output (ValueError naming tests.i.steps.j)."""
    declared = [f.name for f in spec.entries]
    if spec.functions is None:
        raise ValueError(f"tests.{i} ({t.name!r}): `steps` (a sequence of calls) is for problems "
                         "with `functions`; give `args` to call `function`")
    for j, step in enumerate(t.steps):
        at = f"tests.{i}.steps.{j} ({t.name!r} step {j})"
        if step.call not in declared:
            raise ValueError(f"{at}: `call: {step.call}` names no entry; one of {declared}")
        fn = spec.entry(step.call)
        _same_keys(f"{at} args", set(step.args), {p.name for p in fn.params})
        for name, value in step.args.items():
            for k, path in refs_in(value):
                ref = "$" + ".".join([str(k), *filter(None, [path])])
                if k >= j:
                    raise ValueError(f"{at} args.{name}: {ref} is the output of step {k}, not "
                                     f"an earlier step: a step takes $0..${j - 1}" if j else
                                     f"{at} args.{name}: {ref}: the first step has no earlier "
                                     "output to take; give its arguments as values")
                source = spec.entry(t.steps[k].call)
                if path not in addressable(source):
                    names = ", ".join(sorted(f"${k}.{p}" if p else f"${k}"
                                             for p in addressable(source)))
                    raise ValueError(f"{at} args.{name}: {ref} names nothing of step {k}'s "
                                     f"output ({source.name} returns: {names})")


def entry_checks(spec: Any, fn: Function, several: bool) -> set[str]:
    """The cross-checks of one entry against the tests and checks that call it (ValueError);
    its outputs' paths (and their prefixes), which `tolerance.per_output` may name."""
    def mine(t: Any) -> bool:
        steps = getattr(t, "steps", None) or ()
        return not several or t.call == fn.name or any(s.call == fn.name for s in steps)

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
        if t.steps is not None:
            continue  # check_steps checked each step's
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
    if spec.tolerance.scale is not None and spec.tolerance.scale.arg not in names and not \
            (several and any(spec.tolerance.scale.arg in {p.name for p in f.params}
                             for f in spec.entries)):
        raise ValueError(f"{at}tolerance.scale.arg {spec.tolerance.scale.arg!r} is no "
                         "parameter")
    if spec.tolerance.scale is not None and spec.tolerance.scale.arg in names and isinstance(
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


