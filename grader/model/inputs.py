"""Turns a spec's explicit and generated tests into concrete inputs with the declared dtypes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.model.dims import DimError, evaluate, is_name
from grader.model.given import given_name, resolve
from grader.model.spec import (
    AnyParam,
    ArrayParam,
    BoolParam,
    CallableParam,
    ChoiceParam,
    Function,
    KeyParam,
    Leaf,
    Returns,
    ScalarParam,
    TreeParam,
    walk_leaves,
)


class KeySeed(int):
    """A `kind: key` argument as the judge holds it: its seed. The function receives
    jax.random.key(seed), built where it runs (the jail, or the judge for the reference)."""

    key_seed = True  # how the sandbox's encoder, which imports nothing of the model, knows it

    def __repr__(self) -> str:
        return f"KeySeed({int(self)})"


Value = Any  # float | int | bool | str | np.ndarray | KeySeed | GivenName | dict (a tree)
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class TestCase:
    name: str
    args: dict[str, Value]
    visible: bool
    points: float
    call: str | None = None  # the entry it calls, in a problem with `functions`
    step: int | None = None  # a sequence's step: its index in the sequence

    def key(self) -> tuple[Any, ...]:
        """A hashable fingerprint of the entry and inputs, to find duplicate tests."""
        return (self.call, *((k, fingerprint(v)) for k, v in sorted(self.args.items())))


def fingerprint(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return (v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, dict):
        return tuple((k, fingerprint(x)) for k, x in sorted(v.items()))
    return (type(v).__name__, v)


class InputError(ValueError):
    """An argument that does not fit its declared parameter; the loader adds the file and key."""


def as_array(name: str, dtype: str, shape: list[int | str], value: Any) -> np.ndarray:
    if isinstance(value, dict):
        raise InputError(f"{name!r} is a {dtype} array, not a mapping")
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name!r} is not a {dtype} array: {exc}") from exc
    if arr.ndim != len(shape):
        raise InputError(f"{name!r} has {arr.ndim} dims, declared shape {shape}")
    return arr


def as_tree(name: str, leaves: Any, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{name!r} is a tree: give a mapping with keys {sorted(leaves)}, "
                         f"not {type(value).__name__}")
    if set(value) != set(leaves):
        raise InputError(f"{name!r} has keys {sorted(map(str, value))}, the tree declares "
                         f"{sorted(leaves)}")
    return {k: as_array(f"{name}.{k}", sub.dtype, sub.shape, value[k]) if isinstance(sub, Leaf)
            else as_tree(f"{name}.{k}", sub, value[k]) for k, sub in leaves.items()}


def coerce(param: AnyParam, value: Any) -> Value:
    """One argument as the judge holds it: Python float/int/bool/str, a numpy array of the
    declared dtype, nested dicts of them (a tree), or a KeySeed (a key)."""
    if isinstance(param, ScalarParam):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"expected a number for {param.kind} {param.name!r}, got {value!r}")
        if param.kind == "int":
            if float(value) != int(value):
                raise InputError(f"expected an integer for {param.name!r}, got {value!r}")
            if param.binds is not None and not 0 <= int(value) <= 2**31:
                raise InputError(f"{param.name!r} binds dim {param.binds}: a size, not {value}")
            return int(value)
        return float(value)
    if isinstance(param, BoolParam):
        if not isinstance(value, bool | np.bool_):
            raise InputError(f"expected true or false for bool {param.name!r}, got {value!r}")
        return bool(value)
    if isinstance(param, ChoiceParam):
        if not isinstance(value, str) or value not in param.values:
            raise InputError(f"expected one of {param.values} for {param.name!r}, got {value!r}")
        return value
    if isinstance(param, CallableParam):
        return given_name(param, value, InputError)
    if isinstance(param, KeyParam):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer) \
                or float(value) != int(value) or not 0 <= int(value) <= MAX_SEED:
            raise InputError(f"key {param.name!r} takes an integer seed in [0, 2**63), "
                             f"got {value!r}")
        return KeySeed(int(value))
    if isinstance(param, TreeParam):
        return as_tree(param.name, param.leaves, value)
    return as_array(param.name, param.dtype, param.shape, value)


def call_args(args: dict[str, Value], given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The arguments as trusted code in the judge receives them (the runner does the same in the
    jail): a key's seed becomes jax.random.key(seed), a callable's name its function in `given`."""
    out = resolve(args, given, InputError)
    if not any(isinstance(v, KeySeed) for v in args.values()):
        return out
    import jax

    return {k: jax.random.key(int(v)) if isinstance(v, KeySeed) else v for k, v in out.items()}


def _arrays(function: Function, args: dict[str, Value]) -> list[tuple[str, list[int | str],
                                                                      np.ndarray]]:
    out = []
    for p in function.params:
        if isinstance(p, ArrayParam):
            arr = args[p.name]
            assert isinstance(arr, np.ndarray)
            out.append((p.name, p.shape, arr))
        elif isinstance(p, TreeParam):
            tree = args[p.name]
            for path, leaf in walk_leaves(p.leaves):
                node: Any = tree
                for part in path.split("."):
                    node = node[part]
                out.append((f"{p.name}.{path}", leaf.shape, node))
    return out


def bind_dims(function: Function, args: dict[str, Value]) -> dict[str, int]:
    """Solve the symbolic dims from int `binds` and the arrays' bare dims; a symbol bound twice
    must agree, and every fixed or computed dim ("T+1") must match its array."""
    dims: dict[str, int] = {}
    for p in function.params:
        if isinstance(p, ScalarParam) and p.binds is not None:
            dims[p.binds] = int(args[p.name])
    arrays = _arrays(function, args)
    for name, shape, arr in arrays:
        for sym, size in zip(shape, arr.shape, strict=True):
            if is_name(sym):
                assert isinstance(sym, str)
                if dims.setdefault(sym, size) != size:
                    raise InputError(f"dim {sym} is {dims[sym]} elsewhere but {size} in {name!r}")
    for name, shape, arr in arrays:
        for sym, size in zip(shape, arr.shape, strict=True):
            if isinstance(sym, int) and sym != size:
                raise InputError(f"{name!r} dim {sym} is fixed but the array has {size}")
            if isinstance(sym, str) and not is_name(sym):
                try:
                    want = evaluate(sym, dims)
                except DimError as exc:
                    raise InputError(f"{name!r}: {exc}") from exc
                if want != size:
                    raise InputError(f"{name!r} dim {sym} is {want} for {dims} but the array "
                                     f"has {size}")
    return dims


def shape_of(shape: list[int | str], dims: dict[str, int]) -> tuple[int, ...]:
    try:
        return tuple(evaluate(d, dims) for d in shape)
    except DimError as exc:
        raise InputError(str(exc)) from exc


def expected_shape(function: Function, dims: dict[str, int]) -> tuple[int, ...]:
    """The shape of a one-array return."""
    assert isinstance(function.returns, Returns)
    return shape_of(function.returns.shape, dims)


def expected_leaves(function: Function, dims: dict[str, int]
                    ) -> list[tuple[str, str, tuple[int, ...]]]:
    """(path, dtype, shape) of every array of the return, in declared order ("" for one)."""
    return [(path, leaf.dtype, shape_of(leaf.shape, dims)) for path, leaf in function.leaves()]
