"""Function checks: the learner's function judged under a JAX transform (vjp, jvp, jit, vmap).

Each check runs on the fixed tests it names (default: every one) and makes one report row per
test, named `<check>:<test>`, visible or hidden like its test. The jail applies the transform to
the learner's function (grader/sandbox/runner.py `transformed`); the judge applies the same one
to the reference outside it (grader/data/transformed.py) and compares the two like a test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from grader.model.generators import Normal, Uniform
from grader.model.strict import IDENT, Strict, distinct
from grader.sandbox.runner import CALL_KEY, TRANSFORM_KEY  # the keys the runner reads

Draw = Annotated[Normal | Uniform, Field(discriminator="dist")]


class FunctionCheck(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    transform: Literal["vjp", "jvp", "jit", "vmap"]
    call: str | None = Field(None, pattern=IDENT, description=(
        "with `functions`: the entry it judges (on the tests that call it); else leave out"))
    tests: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]] | None = Field(
        None, min_length=1, description="the tests it runs on (generated ones as <name>_<i>); "
        "default every test")
    wrt: list[Annotated[str, Field(pattern=IDENT)]] | None = Field(
        None, min_length=1, description="vjp, jvp: the float array parameters differentiated")
    cotangent: Draw | None = Field(None, description="vjp: how the cotangent is drawn")
    tangent: Draw | None = Field(None, description="jvp: how each tangent is drawn")
    static: list[Annotated[str, Field(pattern=IDENT)]] = Field(
        default_factory=list, description="jit: static_argnames (non-array parameters)")
    in_axes: dict[Annotated[str, Field(pattern=IDENT)], Annotated[int, Field(ge=0)]] | None = \
        Field(None, description="vmap: the mapped array parameters and their batch axis")
    batch: int = Field(3, ge=2, le=8, description="vmap: the batch size")
    seed: int = Field(0, ge=0, description="vjp, jvp: the draws' seed (with the test's index)")
    rtol: float | None = Field(None, ge=0, description="instead of the problem's tolerance")
    atol: float | None = Field(None, ge=0, description="instead of the problem's tolerance")
    points: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _keys_of_its_transform(self) -> FunctionCheck:
        own = {"vjp": {"wrt", "cotangent"}, "jvp": {"wrt", "tangent"}, "jit": {"static"},
               "vmap": {"in_axes", "batch"}}[self.transform]
        needs = {"vjp": {"wrt", "cotangent"}, "jvp": {"wrt", "tangent"}, "jit": set(),
                 "vmap": {"in_axes"}}[self.transform]
        for key in ("wrt", "cotangent", "tangent", "static", "in_axes", "batch"):
            given = key in self.model_fields_set
            if given and key not in own:
                raise ValueError(f"`{key}` is no key of a {self.transform} check (its keys: "
                                 f"{', '.join(sorted(own)) or 'none'})")
            if key in needs and not getattr(self, key):
                raise ValueError(f"a {self.transform} check needs `{key}`")
        distinct(self.wrt or [], "wrt names")
        distinct(self.static, "static names")
        return self


def validate_checks(spec: Any) -> None:
    """Cross-checks of `function_checks` against the function and the tests (ValueError)."""
    from grader.model.entries import STEP, check_call
    from grader.model.kinds import ArrayParam, ChoiceParam, Returns, TreeParam

    several = spec.functions is not None
    calls = {f"{g.name}_{i}": g.call for g in spec.generated for i in range(g.count)}
    for t in spec.tests:  # every test's report name, and the entry it calls
        calls |= {t.name: t.call} if t.steps is None else \
            {STEP.format(name=t.name, k=k): s.call for k, s in enumerate(t.steps)}
    names = [c.name for c in spec.function_checks]
    distinct(names, "function_checks names")
    for c in spec.function_checks:
        where = f"function_checks {c.name!r}"
        check_call(spec, c.call, where, "judges")
        fn = spec.entry(c.call)
        params = {p.name: p for p in fn.params}
        tests = sorted(n for n, call in calls.items() if call == c.call)
        if not tests:
            raise ValueError(f"{where}: no test calls {fn.name!r}, so it would judge nothing")
        for t in c.tests or []:
            if t not in tests:
                raise ValueError(f"{where} tests: {t!r} is no test"
                                 f"{' of ' + repr(fn.name) if several else ''} (tests: {tests})")
        for key, listed in (("wrt", c.wrt or []), ("static", c.static),
                            ("in_axes", list(c.in_axes or {}))):
            for n in listed:
                if n not in params:
                    raise ValueError(f"{where} {key}: {n!r} is no parameter (parameters: "
                                     f"{sorted(params)})")
        for n in c.wrt or []:
            p = params[n]
            if not isinstance(p, ArrayParam) or not p.dtype.startswith("float"):
                raise ValueError(f"{where} wrt: {n!r} is no float array parameter")
        if c.transform in ("vjp", "jvp") and not (
                isinstance(fn.returns, Returns) and fn.returns.dtype.startswith("float")):
            raise ValueError(f"{where}: a {c.transform} check needs a return of one float array")
        for n in c.static:
            if isinstance(params[n], ArrayParam | TreeParam):
                raise ValueError(f"{where} static: {n!r} is an array (static arguments must be "
                                 "hashable: ints, floats, bools, choices)")
        if c.transform == "jit":
            loose = [p.name for p in fn.params if isinstance(p, ChoiceParam)
                     and p.name not in c.static]
            if loose:
                raise ValueError(f"{where}: choice parameter {loose[0]!r} must be static (a "
                                 "string cannot be traced)")
        for n, axis in (c.in_axes or {}).items():
            p = params[n]
            if not isinstance(p, ArrayParam):
                raise ValueError(f"{where} in_axes: {n!r} is no array parameter")
            if axis > len(p.shape):
                raise ValueError(f"{where} in_axes: {n!r} has {len(p.shape)} dims; its batch "
                                 f"axis is at most {len(p.shape)}")


@dataclass(frozen=True)
class CheckRow:
    """One function check on one test: a line of the report and one call in the jail."""

    name: str
    check: FunctionCheck
    test: int  # index into Problem.tests
    visible: bool
    points: float
    args: dict[str, Any]  # as the function receives them (vmap: the stacked batch)
    transform: dict[str, Any]  # what the runner reads beside the arguments
    leaf_paths: tuple[str, ...]  # of a structured result, else ()

    @property
    def call(self) -> dict[str, Any]:
        """The call as the job sends it: the arguments, the transform and (with `functions`)
        the entry it runs."""
        entry = {CALL_KEY: self.check.call} if self.check.call is not None else {}
        return {**self.args, TRANSFORM_KEY: self.transform, **entry}

    @property
    def label(self) -> str:
        return f"jax.{self.check.transform}"


def _draw(how: Normal | Uniform, shape: tuple[int, ...], rng: np.random.Generator,
          dtype: str) -> np.ndarray:
    raw = rng.normal(how.mean, how.std, shape) if isinstance(how, Normal) \
        else rng.uniform(how.low, how.high, shape)
    return np.asarray(raw, dtype=dtype)


def batched(value: np.ndarray, k: int) -> np.ndarray:
    """The k-th member of a vmap batch made of one test's array: the array itself, reversed
    along every axis, rolled by one along every axis, ... Each keeps the array's values (a
    simplex stays a simplex, a symmetric matrix stays symmetric and keeps its eigenvalues)."""
    if value.ndim == 0 or k == 0:
        return value
    axes = tuple(range(value.ndim))
    if k % 2 == 1:
        return np.ascontiguousarray(np.roll(np.flip(value, axes), k // 2, axes))
    return np.ascontiguousarray(np.roll(value, k // 2, axes))


def check_rows(problem: Any) -> list[CheckRow]:
    """Every function check's rows in spec order, each check's over its tests in test order."""
    from grader.model.inputs import bind_dims, expected_leaves
    from grader.model.values import structure

    spec, cases = problem.spec, problem.tests
    out = []
    for c in spec.function_checks:
        fn = spec.entry(c.call)
        chosen = set(c.tests) if c.tests is not None else None
        for i, case in enumerate(cases):
            if case.call != c.call or (chosen is not None and case.name not in chosen):
                continue
            rng = np.random.default_rng([c.seed, i])
            args = dict(case.args)
            spec_: dict[str, Any] = {"transform": c.transform}
            paths = tuple(p for p, _ in fn.leaves()) if fn.structured else ()
            if c.transform == "vjp":
                assert c.wrt is not None and c.cotangent is not None
                (_, dtype, shape), = expected_leaves(fn, bind_dims(fn, case.args))
                spec_ |= {"wrt": list(c.wrt),
                          "cotangent": _draw(c.cotangent, shape, rng, dtype)}
                paths = tuple(c.wrt) if len(c.wrt) > 1 else ()
            elif c.transform == "jvp":
                assert c.wrt is not None and c.tangent is not None
                spec_ |= {"wrt": list(c.wrt), "tangents": {
                    n: _draw(c.tangent, args[n].shape, rng, str(args[n].dtype))
                    for n in c.wrt}}
            elif c.transform == "jit":
                spec_ |= {"static": list(c.static)}
            else:
                assert c.in_axes is not None
                spec_ |= {"in_axes": dict(c.in_axes)}
                for n, axis in c.in_axes.items():
                    args[n] = np.stack([batched(args[n], k) for k in range(c.batch)], axis)
            # The structure the runner flattens the result by: a vjp's gradients (one array,
            # or a tuple by `wrt`), else the function's own.
            spec_["returns"] = structure(fn) if c.transform != "vjp" else {
                "kind": "tuple", "items": [[n, {"kind": "array"}] for n in paths]} if paths \
                else None
            out.append(CheckRow(f"{c.name}:{case.name}", c, i, case.visible, c.points, args,
                                spec_, paths))
    return out
