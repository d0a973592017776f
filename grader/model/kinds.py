"""What a function of a problem takes and returns: the parameter kinds, trees, tuple and tree
returns, and symbolic dims. A new kind joins `Param` here and `coerce` in grader.model.inputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, field_validator, model_validator
from typing_extensions import TypeAliasType

from grader.model.dims import is_name, symbols
from grader.model.given import CallableParam
from grader.model.strict import IDENT, Strict, distinct

DType = Literal["float32", "float64", "int32", "int64", "bool"]
Dim = Annotated[int, Field(ge=0)] | Annotated[str, Field(
    pattern=r"^[A-Za-z0-9_+*() -]+$", description='a name (K) or an expression ("T+1", "2*K")')]


def _dims_parse(shape: list[int | str]) -> list[int | str]:
    for d in shape:
        symbols(d)  # DimError (a ValueError) names the dim and how to write one
    return shape


class ScalarParam(Strict):
    name: str = Field(pattern=IDENT)
    kind: Literal["float", "int"]
    binds: str | None = Field(None, pattern=IDENT, description=(
        "int only: a symbolic dim this parameter's value fixes (`n` samples: shape [N])"))

    @model_validator(mode="after")
    def _binds_int(self) -> ScalarParam:
        if self.binds is not None and self.kind != "int":
            raise ValueError(f"`binds` needs kind int (a size), not {self.kind}")
        return self


class BoolParam(Strict):
    """A Python bool (`hard: True`)."""

    name: str = Field(pattern=IDENT)
    kind: Literal["bool"]


class ChoiceParam(Strict):
    """One of a few strings (`reduction: mean | sum`), passed as a Python str."""

    name: str = Field(pattern=IDENT)
    kind: Literal["choice"]
    values: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=100)

    @field_validator("values")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        return distinct(v, "values")


class KeyParam(Strict):
    """A typed PRNG key, `jax.random.key(seed)`, built where the function runs from the int seed
    a test (or a statistical check, one per call) gives."""

    name: str = Field(pattern=IDENT)
    kind: Literal["key"]


class ArrayParam(Strict):
    name: str = Field(pattern=IDENT)
    kind: Literal["array"]
    dtype: DType
    shape: list[Dim] = Field(description='symbolic shape, e.g. [K], [2, D] or ["T+1"]')

    _shape = field_validator("shape")(_dims_parse)


class Leaf(Strict):
    """One array of a tree."""

    dtype: DType
    shape: list[Dim]

    _shape = field_validator("shape")(_dims_parse)


def _leaf_or_node(v: Any) -> str:
    return "leaf" if (isinstance(v, dict) and "dtype" in v) or isinstance(v, Leaf) else "node"


if TYPE_CHECKING:  # mypy cannot follow the recursive alias: nested dicts ending in Leaf
    Leaves = dict[str, Any]
else:
    Leaves = TypeAliasType("Leaves", dict[
        Annotated[str, Field(pattern=IDENT)],
        Annotated[Union[Annotated[Leaf, Tag("leaf")],  # noqa: UP007
                        Annotated["Leaves", Tag("node")]],
                  Discriminator(_leaf_or_node)],
    ])


def _leaves_nonempty(v: Leaves) -> Leaves:
    if not v:
        raise ValueError("a tree needs at least one leaf: {name: {dtype: ..., shape: [...]}}")
    for sub in v.values():
        if isinstance(sub, dict):
            _leaves_nonempty(sub)
    return v


class TreeParam(Strict):
    """A pytree: nested dicts of arrays, keys as `leaves` gives them, each of its dtype."""

    name: str = Field(pattern=IDENT)
    kind: Literal["tree"]
    leaves: Leaves = Field(description="nested {key: {dtype, shape}}")

    _leaves = field_validator("leaves")(_leaves_nonempty)


# The parameter kinds: a kind's model here, its inputs in grader.model.inputs.KINDS.
Param = Annotated[ScalarParam | BoolParam | ChoiceParam | KeyParam | CallableParam | ArrayParam
                  | TreeParam, Field(discriminator="kind")]
AnyParam = ScalarParam | BoolParam | ChoiceParam | KeyParam | CallableParam | ArrayParam | TreeParam


def walk_leaves(leaves: Leaves, prefix: str = "") -> Iterator[tuple[str, Leaf]]:
    """Each leaf of a tree with its dotted path, in declared order."""
    for k, v in leaves.items():
        if isinstance(v, Leaf):
            yield prefix + k, v
        else:
            yield from walk_leaves(v, f"{prefix}{k}.")


def shapes_of(p: AnyParam) -> list[list[int | str]]:
    if isinstance(p, ArrayParam):
        return [p.shape]
    if isinstance(p, TreeParam):
        return [leaf.shape for _, leaf in walk_leaves(p.leaves)]
    return []


class Returns(Strict):
    """One array (the default kind); as a tuple item it needs a `name`."""

    kind: Literal["array"] = "array"
    name: str | None = Field(None, pattern=IDENT)
    dtype: DType
    shape: list[Dim]

    _shape = field_validator("shape")(_dims_parse)


class TreeReturns(Strict):
    """A pytree: the structure of a tree parameter (`like`), or its own `leaves`."""

    kind: Literal["tree"]
    name: str | None = Field(None, pattern=IDENT)
    like: str | None = Field(None, pattern=IDENT, description="a tree parameter's name")
    leaves: Leaves | None = None

    @model_validator(mode="after")
    def _like_or_leaves(self) -> TreeReturns:
        if (self.like is None) == (self.leaves is None):
            raise ValueError("give `like: <tree parameter>` or `leaves: {...}`, exactly one")
        if self.leaves is not None:
            _leaves_nonempty(self.leaves)
        return self


def _returns_kind(v: Any) -> str:
    if isinstance(v, dict):
        return str(v.get("kind", "array"))
    return str(getattr(v, "kind", "array"))


Item = Annotated[Annotated[Returns, Tag("array")] | Annotated[TreeReturns, Tag("tree")],
                 Discriminator(_returns_kind, custom_error_type="returns", custom_error_message=(
                     "a tuple item is {name, dtype, shape} or {name, kind: tree, ...}"))]


class TupleReturns(Strict):
    """A tuple of named items, e.g. (value, grads): items are arrays or trees."""

    kind: Literal["tuple"]
    items: list[Item] = Field(min_length=1, max_length=32)

    @model_validator(mode="after")
    def _named(self) -> TupleReturns:
        names = [i.name for i in self.items]
        if None in names:
            raise ValueError("every tuple item needs a `name` (feedback and per_output use it)")
        distinct(names, "tuple item names")
        return self


AnyReturns = Returns | TreeReturns | TupleReturns
ReturnsSpec = Annotated[
    Annotated[Returns, Tag("array")] | Annotated[TreeReturns, Tag("tree")]
    | Annotated[TupleReturns, Tag("tuple")],
    Discriminator(_returns_kind, custom_error_type="returns", custom_error_message=(
        "expected {dtype, shape}, {kind: tuple, items: [...]} or {kind: tree, like | leaves}")),
]


class Function(Strict):
    name: str = Field(pattern=IDENT)
    params: list[Param] = Field(min_length=1)
    returns: ReturnsSpec

    @model_validator(mode="after")
    def _names_unique_and_dims_bound(self) -> Function:
        names = [p.name for p in self.params]
        distinct(names, "parameter names")
        binders = [p.binds for p in self.params if isinstance(p, ScalarParam) and p.binds]
        if len(set(binders)) != len(binders):
            raise ValueError(f"two int parameters bind the same dim: {binders}")
        bound = self.bound_dims()
        for p in self.params:
            for shape in shapes_of(p):
                for d in shape:
                    free = sorted(symbols(d) - bound)
                    if free:
                        raise ValueError(
                            f"parameter {p.name!r} shape {shape}: {d!r} uses {free}, which no "
                            "parameter binds (use it bare as some array's dim, or give an int "
                            f"parameter `binds: {free[0]}`)")
        leaves = self.leaves()
        # The runner reports a result's dtypes and dims in one header line of 4096 bytes.
        room = sum(16 + 12 * len(leaf.shape) for _, leaf in leaves)
        if len(leaves) > 1 and room > 3000:
            raise ValueError(f"the return has {len(leaves)} arrays of {room // 12} dims in all: "
                             "too many to report in one result (keep it under about 200 dims)")
        for path, leaf in leaves:
            for d in leaf.shape:
                free = sorted(symbols(d) - bound)
                if free:
                    raise ValueError(f"return {path or 'shape'} uses {free}, which no "
                                     "parameter defines (an array dim or an int's `binds`)")
        return self

    def bound_dims(self) -> set[str]:
        """Names a test's inputs fix: bare dims of arrays and trees, and int `binds`."""
        bound = {p.binds for p in self.params if isinstance(p, ScalarParam) and p.binds}
        for p in self.params:
            bound |= {str(d) for shape in shapes_of(p) for d in shape if is_name(d)}
        return bound

    def param(self, name: str) -> AnyParam:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def structured(self) -> bool:
        """The return is a tuple or a tree, not one array."""
        return not isinstance(self.returns, Returns)

    def leaves(self) -> list[tuple[str, Returns | Leaf]]:
        """The return's arrays with their dotted paths ("" for one array), in declared order;
        a tree `like` a parameter that is no tree yields nothing (the validator says so)."""
        def tree(r: TreeReturns, prefix: str) -> list[tuple[str, Returns | Leaf]]:
            leaves = r.leaves
            if r.like is not None:
                p = next((q for q in self.params if q.name == r.like), None)
                if not isinstance(p, TreeParam):
                    raise ValueError(f"returns: `like: {r.like}` names no tree parameter")
                leaves = p.leaves
            assert leaves is not None
            return list(walk_leaves(leaves, prefix))

        r = self.returns
        if isinstance(r, Returns):
            return [("", r)]
        if isinstance(r, TreeReturns):
            return tree(r, "")
        out: list[tuple[str, Returns | Leaf]] = []
        for item in r.items:
            if isinstance(item, Returns):
                out.append((str(item.name), item))
            else:
                out += tree(item, f"{item.name}.")
        return out
