"""A sequence's steps (`tests: [{steps: ...}]`) as fixed tests: each step's `$k` arguments
replaced by the reference's output of step k, so that the jail is sent plain values, each
step is judged on its own, and a hidden sequence's inputs stay the judge's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.model.cases import generate
from grader.model.entries import STEP, step_ref
from grader.model.inputs import InputError, TestCase, bind_dims, coerce
from grader.model.spec import ExplicitTest, ProblemSpec, ScalarParam

# Runs the reference on one step's case: its output, which later steps' `$k` take.
Reference = Callable[[TestCase], Any]


def _part(out: Any, path: str) -> Any:
    """`$k.path` of a step's output (an array, or a dict of arrays by leaf path): a leaf, or a
    subtree nested again as the mapping a tree parameter takes."""
    if not isinstance(out, dict) or path in out:
        return out if not isinstance(out, dict) else out[path]
    prefix = f"{path}." if path else ""
    nested: dict[str, Any] = {}
    for p, a in out.items():
        if p.startswith(prefix):
            *parents, last = p[len(prefix):].split(".")
            node = nested
            for k in parents:
                node = node.setdefault(k, {})
            node[last] = a
    return nested


def _resolved(value: Any, outputs: list[Any]) -> Any:
    if isinstance(value, dict):
        return {k: _resolved(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, outputs) for v in value]
    ref = step_ref(value)
    return value if ref is None else _part(outputs[ref[0]], ref[1])


def sequence_cases(spec: ProblemSpec, t: ExplicitTest, reference: Reference) -> list[TestCase]:
    """A sequence's steps as tests, each with the reference's earlier outputs as literal
    arguments (so a step is judged on its own, and the jail sees plain values)."""
    assert t.steps is not None
    cases: list[TestCase] = []
    outputs: list[Any] = []
    for k, step in enumerate(t.steps):
        fn = spec.entry(step.call)
        name = STEP.format(name=t.name, k=k)
        try:
            args = {}
            for p in fn.params:
                v = _resolved(step.args[p.name], outputs)
                if isinstance(p, ScalarParam) and isinstance(v, np.ndarray) and v.ndim == 0:
                    v = v.item()
                args[p.name] = coerce(p, v)
            bind_dims(fn, args)
        except InputError as exc:
            raise InputError(f"tests.{name}: {exc}") from exc
        cases.append(TestCase(name, args, t.visible, t.points / len(t.steps), step.call, k))
        outputs.append(reference(cases[-1]))
    return cases


def materialise(spec: ProblemSpec, reference: Reference | None = None) -> list[TestCase]:
    """Every fixed-input test of the spec in order: explicit ones first (a sequence's steps in
    turn, `reference` running each for the later steps' `$k`), then generated ones."""
    cases = []
    for t in spec.tests:
        if t.steps is not None:
            if reference is None:
                raise InputError(f"tests.{t.name}: a sequence's steps need the reference")
            cases += sequence_cases(spec, t, reference)
            continue
        assert t.args is not None  # a test gives `args` or `steps`
        try:
            args = {p.name: coerce(p, t.args[p.name]) for p in spec.entry(t.call).params}
            bind_dims(spec.entry(t.call), args)
        except InputError as exc:
            raise InputError(f"tests.{t.name}: {exc}") from exc
        cases.append(TestCase(t.name, args, t.visible, t.points, t.call))
    for g in spec.generated:
        cases.extend(generate(spec.entry(g.call), g))
    return cases
