"""What every part of a spec shares: strict models (unknown keys rejected), identifiers, scales."""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"


T = TypeVar("T")


def distinct(values: list[T], what: str) -> list[T]:
    """`values` unchanged, or ValueError "<what> repeat: [...]" where a name appears twice."""
    if len(set(values)) != len(values):
        raise ValueError(f"{what} repeat: {values}")
    return values


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(Strict):
    """A named quantity of the inputs that a float32 error grows with."""

    arg: str = Field(pattern=IDENT)
    reduce: Literal["max_abs", "l2", "mean_abs"] = "max_abs"
