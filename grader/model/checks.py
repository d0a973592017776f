"""Statistical checks of a spec: calls over many seeds judged together (mean, spread, invariant)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from grader.model.strict import IDENT, Scale, Strict


class _Check(Strict):
    """Calls the submission once per seed on fixed inputs, in the same sandbox as the tests."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    call: str | None = Field(None, pattern=IDENT, description=(
        "with `functions`: the entry the check calls (a `functions` name)"))
    args: dict[str, Any] = Field(description="every parameter except `seed_param`")
    seed_param: str = Field("seed", pattern=IDENT)
    seeds: int = Field(ge=20, le=5000, description="calls, with seeds seed_offset, +1, ...")
    seed_offset: int = Field(1_000_000, ge=0, description="keep clear of the fixed tests' seeds")
    visible: bool = True
    points: float = Field(1.0, ge=0)
    output: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$", description=(
        "the leaf of a tuple or tree return the check judges, e.g. grads.w"))


class MeanCheck(_Check):
    """Unbiasedness: a z-test per output component of the mean over seeds against `expectation`."""

    kind: Literal["mean_z"]
    expectation: str = Field(pattern=IDENT, description="reference function: exact mean")
    variance: str | None = Field(None, pattern=IDENT, description=(
        "reference function: exact per-component variance of one call; else the sample's"))


class VarianceCheck(_Check):
    """Spread: total variance over seeds divided by that of a trusted estimator, within bounds."""

    kind: Literal["variance_ratio"]
    against: str | None = Field(None, pattern=IDENT, description=(
        "reference function with the submission's signature; default the reference solution"))
    variance: str | None = Field(None, pattern=IDENT, description=(
        "reference function: exact per-component variance of one call, instead of sampling "
        "`against` over the same seeds"))
    min_ratio: float = Field(0.0, ge=0)
    max_ratio: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _some_bound(self) -> VarianceCheck:
        if self.variance is not None and self.against is not None:
            raise ValueError("give `against` or `variance`, not both")
        if self.min_ratio == 0.0 and self.max_ratio is None:
            raise ValueError("give `min_ratio`, `max_ratio` or both")
        if self.max_ratio is not None and self.max_ratio <= self.min_ratio:
            raise ValueError("`max_ratio` must be above `min_ratio`")
        return self


class SumZeroCheck(_Check):
    """An invariant: every call's output sums to 0 within atol + atol_per_scale * scale."""

    kind: Literal["invariant_sum_zero"]
    atol: float = Field(0.0, ge=0)
    atol_per_scale: float = Field(0.0, ge=0)
    scale: Scale | None = None


class SumCheck(_Check):
    """An invariant: every call's output sums to `target` along `axis` (every component: none)
    within atol + atol_per_scale * scale, e.g. a probability vector sums to 1."""

    kind: Literal["invariant_sum"]
    target: float = 0.0
    axis: int | None = Field(None, description="the axis summed over; none: all components")
    atol: float = Field(0.0, ge=0)
    atol_per_scale: float = Field(0.0, ge=0)
    scale: Scale | None = None


class NonNegativeCheck(_Check):
    """An invariant: every component of every call's output is >= -atol."""

    kind: Literal["invariant_nonnegative"]
    atol: float = Field(0.0, ge=0)


StatisticalCheck = Annotated[MeanCheck | VarianceCheck | SumZeroCheck | SumCheck
                             | NonNegativeCheck, Field(discriminator="kind")]
