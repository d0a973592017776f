"""Turns a spec's explicit and generated tests into concrete inputs with the declared dtypes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.model.spec import (
    ArrayParam,
    Constant,
    Function,
    GeneratedTests,
    IntRange,
    Normal,
    ProblemSpec,
    ScalarParam,
    Uniform,
)

Value = float | int | np.ndarray


@dataclass(frozen=True)
class TestCase:
    name: str
    args: dict[str, Value]
    visible: bool
    points: float

    def key(self) -> tuple[Any, ...]:
        """A hashable fingerprint of the inputs, to find duplicate tests."""
        parts: list[Any] = []
        for k, v in sorted(self.args.items()):
            if isinstance(v, np.ndarray):
                parts.append((k, v.dtype.str, v.shape, v.tobytes()))
            else:
                parts.append((k, type(v).__name__, v))
        return tuple(parts)


class InputError(ValueError):
    """An argument that does not fit its declared parameter; the loader adds the file and key."""


def coerce(param: ScalarParam | ArrayParam, value: Any) -> Value:
    """One argument as the learner's function receives it: Python float/int, or a numpy array."""
    if isinstance(param, ScalarParam):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"expected a number for {param.kind} {param.name!r}, got {value!r}")
        if param.kind == "int":
            if float(value) != int(value):
                raise InputError(f"expected an integer for {param.name!r}, got {value!r}")
            return int(value)
        return float(value)
    try:
        arr = np.asarray(value, dtype=param.dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{param.name!r} is not a {param.dtype} array: {exc}") from exc
    if arr.ndim != len(param.shape):
        raise InputError(f"{param.name!r} has {arr.ndim} dims, declared shape {param.shape}")
    return arr


def bind_dims(function: Function, args: dict[str, Value]) -> dict[str, int]:
    """Solve the symbolic dims from the arrays; a symbol bound twice must agree."""
    dims: dict[str, int] = {}
    for p in function.params:
        if not isinstance(p, ArrayParam):
            continue
        arr = args[p.name]
        assert isinstance(arr, np.ndarray)
        for sym, size in zip(p.shape, arr.shape, strict=True):
            if isinstance(sym, int):
                if sym != size:
                    raise InputError(f"{p.name!r} dim {sym} is fixed but the array has {size}")
            elif dims.setdefault(sym, size) != size:
                raise InputError(f"dim {sym} is {dims[sym]} elsewhere but {size} in {p.name!r}")
    return dims


def expected_shape(function: Function, dims: dict[str, int]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else dims[d] for d in function.returns.shape)


def _draw(param: ScalarParam | ArrayParam, how: Any, rng: np.random.Generator,
          dims: dict[str, int]) -> Value:
    if isinstance(how, Constant):
        return coerce(param, how.value)
    shape: tuple[int, ...] = ()
    if isinstance(param, ArrayParam):
        shape = tuple(d if isinstance(d, int) else dims[d] for d in param.shape)
    if isinstance(how, Uniform):
        raw: Any = rng.uniform(how.low, how.high, size=shape)
    elif isinstance(how, Normal):
        raw = rng.normal(how.mean, how.std, size=shape)
    elif isinstance(how, IntRange):
        raw = rng.integers(how.low, how.high, size=shape)
    else:  # pragma: no cover - the spec's discriminated union admits nothing else
        raise InputError(f"unknown distribution {how!r}")
    if isinstance(param, ScalarParam):
        return coerce(param, raw.item() if isinstance(raw, np.ndarray) else raw)
    return np.asarray(raw, dtype=param.dtype)


def _generate(function: Function, gen: GeneratedTests) -> list[TestCase]:
    rng = np.random.default_rng(gen.seed)
    cases = []
    for i in range(gen.count):
        dims = {sym: int(rng.choice(choices)) for sym, choices in sorted(gen.sizes.items())}
        args = {p.name: _draw(p, gen.args[p.name], rng, dims) for p in function.params}
        cases.append(TestCase(f"{gen.name}_{i}", args, gen.visible, gen.points))
    return cases


def materialise(spec: ProblemSpec) -> list[TestCase]:
    """Every fixed-input test of the spec in order: explicit ones first, then generated ones."""
    cases = []
    for t in spec.tests:
        try:
            args = {p.name: coerce(p, t.args[p.name]) for p in spec.function.params}
            bind_dims(spec.function, args)
        except InputError as exc:
            raise InputError(f"tests.{t.name}: {exc}") from exc
        cases.append(TestCase(t.name, args, t.visible, t.points))
    for g in spec.generated:
        cases.extend(_generate(spec.function, g))
    return cases
