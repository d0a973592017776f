"""How a generated test draws each argument: a constant or a seeded distribution."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator

from grader.model.dims import symbols
from grader.model.strict import Strict


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
        return "constant" if "value" in v else v.get("dist")
    return getattr(v, "dist", "constant")


ArgGenerator = Annotated[
    Annotated[Constant, Tag("constant")]
    | Annotated[Uniform, Tag("uniform")]
    | Annotated[Normal, Tag("normal")]
    | Annotated[IntRange, Tag("int_range")]
    | Annotated[Bernoulli, Tag("bernoulli")]
    | Annotated[Pick, Tag("pick")]
    | Annotated[Simplex, Tag("simplex")]
    | Annotated[Spd, Tag("spd")],
    Discriminator(
        _generator_kind,
        custom_error_type="generator",
        custom_error_message=("expected {value: ...} or {dist: uniform | normal | int_range | "
                              "bernoulli | pick | simplex | spd, ...}"),
    ),
]
