"""Generated tests drawn: each argument by its generator (one for all of a tree's leaves, or one
per leaf), seeded by the spec. (model/sequences.py lists every fixed-input test of a spec.)"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.model.given import GivenName
from grader.model.inputs import (
    InputError,
    TestCase,
    Value,
    as_array,
    as_tree,
    coerce,
    shape_of,
)
from grader.model.spec import (
    AnyParam,
    ArrayParam,
    Bernoulli,
    BoolParam,
    CallableParam,
    ChoiceParam,
    Constant,
    Function,
    GeneratedTests,
    IntRange,
    Leaf,
    Normal,
    Pick,
    ScalarParam,
    Simplex,
    Spd,
    TreeParam,
    Uniform,
)


def _sample(how: Any, shape: tuple[int, ...], rng: np.random.Generator,
            dims: dict[str, int], name: str) -> Any:
    if isinstance(how, Uniform):
        return rng.uniform(how.low, how.high, size=shape)
    if isinstance(how, Normal):
        return rng.normal(how.mean, how.std, size=shape)
    if isinstance(how, IntRange):
        high = how.high if isinstance(how.high, int) else shape_of([how.high], dims)[0]
        if high <= how.low:
            raise InputError(f"{name!r}: int_range high {how.high} = {high} is not above "
                             f"low {how.low}")
        return rng.integers(how.low, high, size=shape)
    if isinstance(how, Bernoulli):
        return rng.random(size=shape) < how.p
    if isinstance(how, Simplex):
        if not shape:
            raise InputError(f"{name!r}: a simplex needs an array (it sums to 1 on its last axis)")
        return rng.dirichlet([how.alpha] * shape[-1], size=shape[:-1])
    if isinstance(how, Spd):
        if len(shape) < 2 or shape[-1] != shape[-2]:
            raise InputError(f"{name!r}: an SPD matrix needs a square shape [..., D, D], "
                             f"got {list(shape)}")
        a = rng.normal(size=shape)
        eye = np.eye(shape[-1]) * how.min_eigenvalue
        return a @ np.swapaxes(a, -1, -2) / shape[-1] + eye
    raise InputError(f"{name!r}: {getattr(how, 'dist', how)!r} cannot make this parameter")


def _draw(param: AnyParam, how: Any, rng: np.random.Generator,
          dims: dict[str, int]) -> Value:
    if isinstance(how, Constant):
        return coerce(param, how.value)
    if isinstance(how, Pick):
        if isinstance(param, ChoiceParam):
            return param.values[int(rng.integers(len(param.values)))]
        if isinstance(param, CallableParam):
            return GivenName(param.choices[int(rng.integers(len(param.choices)))])
        if isinstance(param, BoolParam):
            return bool(rng.integers(2))
        raise InputError(f"{param.name!r}: dist pick draws a choice, a callable or a bool")
    if isinstance(param, TreeParam):
        return _tree_draw(param.leaves, how, rng, dims, f"{param.name}.")
    if isinstance(param, ArrayParam):
        raw = _sample(how, shape_of(param.shape, dims), rng, dims, param.name)
        return np.asarray(raw, dtype=param.dtype)
    raw = _sample(how, (), rng, dims, param.name)
    return coerce(param, raw.item() if isinstance(raw, np.ndarray | np.generic) else raw)


def _tree_draw(leaves: Any, how: Any, rng: np.random.Generator, dims: dict[str, int],
               prefix: str) -> dict[str, Any]:
    """A tree's leaves in declared order, each drawn by `how` (one generator for all) or by its
    own entry of `how` (a mapping nested like the leaves)."""
    out: dict[str, Any] = {}
    for k, sub in leaves.items():
        mine = how
        if isinstance(how, dict):
            if k not in how:
                raise InputError(f"{prefix}{k!r}: no generator for this leaf")
            mine = how[k]
        if not isinstance(sub, Leaf):
            out[k] = as_tree(prefix + k, sub, mine.value) if isinstance(mine, Constant) \
                else _tree_draw(sub, mine, rng, dims, f"{prefix}{k}.")
        elif isinstance(mine, dict):
            raise InputError(f"{prefix}{k!r} is an array: give one generator, not a mapping")
        elif isinstance(mine, Constant):
            # A number fills the leaf (b: {value: 0}); else an array of the leaf's shape.
            shape = shape_of(sub.shape, dims)
            fill = isinstance(mine.value, int | float) and not isinstance(mine.value, bool)
            out[k] = as_array(prefix + k, sub.dtype, sub.shape,
                            np.full(shape, mine.value) if fill else mine.value)
        else:
            out[k] = np.asarray(_sample(mine, shape_of(sub.shape, dims), rng, dims, prefix + k),
                                dtype=sub.dtype)
    return out


def generate(function: Function, gen: GeneratedTests) -> list[TestCase]:
    rng = np.random.default_rng(gen.seed)
    cases = []
    for i in range(gen.count):
        dims = {sym: int(rng.choice(choices)) for sym, choices in sorted(gen.sizes.items())}
        # Ints that bind a dim are drawn first: the arrays' shapes use them.
        first = [p for p in function.params if isinstance(p, ScalarParam) and p.binds]
        drawn: dict[str, Value] = {}
        try:
            for b in first:
                drawn[b.name] = _draw(b, gen.args[b.name], rng, dims)
                dims[str(b.binds)] = int(drawn[b.name])
            for p in function.params:
                if p.name not in drawn:
                    drawn[p.name] = _draw(p, gen.args[p.name], rng, dims)
        except InputError as exc:
            raise InputError(f"generated.{gen.name}: {exc}") from exc
        args = {p.name: drawn[p.name] for p in function.params}
        cases.append(TestCase(f"{gen.name}_{i}", args, gen.visible, gen.points, gen.call))
    return cases
