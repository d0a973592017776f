"""How a generated test draws each argument: a constant or a seeded distribution; a tree
parameter one for all its leaves, or one per leaf ({w: {dist: normal}, b: {value: 0}})."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, field_validator
from typing_extensions import TypeAliasType

from grader.errors import SpecError
from grader.model.dims import symbols
from grader.model.strict import IDENT, Strict


class Constant(Strict):
    value: Any = Field(description="a number, bool, choice, key seed, array or tree of arrays")


class Uniform(Strict):
    dist: Literal["uniform"]
    low: float
    high: float


class Normal(Strict):
    dist: Literal["normal"]
    mean: float = 0.0
    std: float = Field(1.0, gt=0)


class IntRange(Strict):
    dist: Literal["int_range"]
    low: int
    high: int | Annotated[str, Field(pattern=r"^[A-Za-z0-9_+*() -]+$")] = Field(
        description="exclusive; an int or a dim (actions below K: high: K)")

    _high = field_validator("high")(lambda v: (symbols(v), v)[1])


class Bernoulli(Strict):
    """True with probability p (a bool, or 0/1 in a numeric array)."""

    dist: Literal["bernoulli"]
    p: float = Field(0.5, ge=0, le=1)


class Pick(Strict):
    """One of a choice parameter's values (or of a bool's), uniformly."""

    dist: Literal["pick"]


class Simplex(Strict):
    """Rows on the probability simplex: Dirichlet(alpha) on the last axis (sums to 1)."""

    dist: Literal["simplex"]
    alpha: float = Field(1.0, gt=0)


class Spd(Strict):
    """Symmetric positive definite matrices on the last two (equal) dims: A Aᵀ/D + m·I."""

    dist: Literal["spd"]
    min_eigenvalue: float = Field(0.1, gt=0)


def _generator_kind(v: Any) -> str | None:
    if isinstance(v, dict):
        if "value" in v:
            return "constant"
        return v.get("dist") if "dist" in v else "per_leaf"
    return getattr(v, "dist", "constant")


if TYPE_CHECKING:  # mypy cannot follow the recursive alias: a generator, or a mapping of them
    ArgGenerator = Constant | Uniform | Normal | IntRange | Bernoulli | Pick | Simplex | Spd \
        | dict[str, Any]
else:
    ArgGenerator = TypeAliasType("ArgGenerator", Annotated[
        Union[Annotated[Constant, Tag("constant")],  # noqa: UP007
              Annotated[Uniform, Tag("uniform")],
              Annotated[Normal, Tag("normal")],
              Annotated[IntRange, Tag("int_range")],
              Annotated[Bernoulli, Tag("bernoulli")],
              Annotated[Pick, Tag("pick")],
              Annotated[Simplex, Tag("simplex")],
              Annotated[Spd, Tag("spd")],
              # A tree parameter's generators per leaf, nested like its leaves: {w: ..., b: ...}.
              Annotated[dict[Annotated[str, Field(pattern=IDENT)], "ArgGenerator"],
                        Tag("per_leaf")]],
        Discriminator(
            _generator_kind,
            custom_error_type="generator",
            custom_error_message=("expected {value: ...}, {dist: uniform | normal | int_range | "
                                  "bernoulli | pick | simplex | spd, ...} or, for a tree, "
                                  "{leaf: generator, ...}"),
        ),
    ])


def check_leaf_generators(spec: Any, path: Path) -> None:
    """A tree parameter's generators per leaf name exactly its leaves, nested alike; any other
    parameter takes one generator. SpecError names the file and key (generated.0.args.params.w)."""
    from grader.model.kinds import Leaf, TreeParam

    def walk(where: str, leaves: dict[str, Any], how: dict[str, Any]) -> None:
        missing = [k for k in leaves if k not in how]
        unknown = [k for k in how if k not in leaves]
        if missing or unknown:
            key = f"{where}.{(missing or unknown)[0]}"
            said = (f"missing leaf {missing[0]!r}" if missing else f"{unknown[0]!r} is no leaf")
            raise SpecError(str(path), key, (
                f"{said}: give a generator for every leaf, keys {sorted(leaves)} (or one "
                "generator for all, e.g. {dist: normal})"))
        for k, sub in leaves.items():
            if isinstance(sub, Leaf) and isinstance(how[k], dict):
                raise SpecError(str(path), f"{where}.{k}", (
                    f"leaf {k!r} is an array: give one generator, {{value: ...}} or "
                    "{dist: ...}, not a mapping"))
            if not isinstance(sub, Leaf) and isinstance(how[k], dict):
                walk(f"{where}.{k}", sub, how[k])  # else one generator for the subtree's leaves

    for i, g in enumerate(spec.generated):
        for p in spec.entry(g.call).params:
            how = g.args.get(p.name)
            if not isinstance(how, dict):
                continue
            where = f"generated.{i}.args.{p.name}"
            if not isinstance(p, TreeParam):
                raise SpecError(str(path), where, (
                    f"{p.name!r} is {'an' if p.kind[0] in 'aeiou' else 'a'} {p.kind}: a "
                    "mapping of generators per leaf is for tree parameters; give one "
                    "generator, {value: ...} or {dist: ...}"))
            walk(where, p.leaves, how)
