"""Strict pydantic models of problems/<id>/problem.yaml and the loader that reports bad keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from grader.errors import SpecError
from grader.model.checks import StatisticalCheck, SumCheck, SumZeroCheck
from grader.model.generators import (  # the spec's names, re-exported
    ArgGenerator,
    Bernoulli,
    Constant,
    IntRange,
    Normal,
    Pick,
    Simplex,
    Spd,
    Uniform,
)
from grader.model.given import GIVEN, CallableParam, check_callables, given_names
from grader.model.kinds import (  # the spec's names, re-exported
    AnyParam,
    AnyReturns,
    ArrayParam,
    BoolParam,
    ChoiceParam,
    DType,
    Function,
    KeyParam,
    Leaf,
    Leaves,
    Param,
    Returns,
    ScalarParam,
    TreeParam,
    TreeReturns,
    TupleReturns,
    walk_leaves,
)
from grader.model.strict import Scale, Strict, distinct
from grader.model.transforms import FunctionCheck, validate_checks

EXAMPLE = r"^[A-Za-z0-9_]+/[A-Za-z0-9_.-]+\.py$"  # a path under submissions/<problem>/


class Limits(Strict):
    time_per_test_s: float = Field(10.0, gt=0, le=600)
    total_time_s: float = Field(120.0, gt=0, le=3600)
    startup_s: float = Field(30.0, gt=0, le=600, description="interpreter, jax and file import")
    memory_mb: int = Field(3072, ge=256, le=65536, description=(
        "memory cap on the whole submission, its processes and its /tmp together (a cgroup), "
        "and address-space cap per process"))
    tmp_mb: int = Field(64, ge=1, le=4096, description=(
        "size cap on the submission's /tmp, a tmpfs whose pages count toward memory_mb"))
    output_mb: float = Field(16.0, gt=0, le=1024, description="cap on returned data per test")


class OutputTolerance(Strict):
    """What one output (a tuple item or a leaf) allows instead of the problem's tolerance."""

    rtol: float | None = Field(None, ge=0)
    atol: float | None = Field(None, ge=0)
    atol_per_scale: float | None = Field(None, ge=0)


class Tolerance(Strict):
    rtol: float = Field(ge=0)
    atol: float = Field(ge=0)
    atol_per_scale: float = Field(0.0, ge=0, description="extra atol per unit of `scale`")
    scale: Scale | None = None
    per_output: dict[str, OutputTolerance] = Field(default_factory=dict, description=(
        "per tuple item or leaf path (grads, grads.w): rtol, atol or atol_per_scale instead"))
    margin: float = Field(5.0, gt=1, description=(
        "how many times the float32 error of correct implementations the allowance is; verify "
        "checks accepted examples stay within 1/margin of it"))

    @model_validator(mode="after")
    def _scale_needs_factor(self) -> Tolerance:
        if (self.scale is None) != (self.atol_per_scale == 0.0):
            raise ValueError("give `scale` and a positive `atol_per_scale` together, or neither")
        return self


class ExplicitTest(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    args: dict[str, Any]
    visible: bool = False
    points: float = Field(1.0, ge=0)


class GeneratedTests(Strict):
    """`count` tests drawn from a seeded generator, so hidden suites need no hand-written arrays."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    count: int = Field(ge=1, le=1000)
    seed: int = Field(ge=0)
    sizes: dict[str, list[Annotated[int, Field(ge=1)]]] = Field(
        default_factory=dict, description="choices per symbolic dimension; few keep compiles few"
    )
    args: dict[str, ArgGenerator]
    visible: bool = False
    points: float = Field(1.0, ge=0)


class Diagnosis(Strict):
    """A known-wrong example and the message a learner whose outputs match it should read."""

    example: str = Field(pattern=EXAMPLE,
                         description="path under submissions/<problem>/, e.g. wrong_answer/x.py")
    message: str = Field(min_length=1)


# Words, not 1..3: they read the same in problem.yaml, `jaxjudge list` and the pages, with no
# legend to look up, and the JSON Schema offers them to an editor. In order, easiest first.
DIFFICULTIES = ("easy", "medium", "hard")
TAG = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class ProblemSpec(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    difficulty: Literal["easy", "medium", "hard"] | None = Field(None, description=(
        "how hard the problem is for a learner who has solved the ones before it in its track; "
        "shown where a learner chooses a problem"))
    tags: list[str] = Field(default_factory=list, max_length=8, description=(
        "topics, lower-case words joined by '-', e.g. score-function; shown beside the title"))
    function: Function
    limits: Limits = Limits()
    tolerance: Tolerance
    tests: list[ExplicitTest] = Field(default_factory=list)
    generated: list[GeneratedTests] = Field(default_factory=list)
    statistics: list[StatisticalCheck] = Field(default_factory=list)
    function_checks: list[FunctionCheck] = Field(default_factory=list, description=(
        "the function judged under jax.vjp, jvp, jit or vmap on the tests (a row per test)"))
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    sampling: str | None = Field(None, description=(
        "the sampling call the statement requires, quoted to learners who sample otherwise"))
    trusted_examples: list[Annotated[str, Field(pattern=EXAMPLE)]] = Field(
        default_factory=list, description=(
            "paths under submissions/<problem>/, e.g. accepted/x.py, written by the course "
            "staff: they may warm the compile cache unsandboxed"))
    show_reference_after_accepted: bool = Field(True, description=(
        "the reference solution on the problem page for a learner once they are accepted"))

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            if not re.fullmatch(TAG, tag):
                raise ValueError(f"{tag!r} is no tag: use lower-case letters and digits, words "
                                 "joined by '-', e.g. score-function")
        return distinct(tags, "tags")

    @model_validator(mode="after")
    def _cross_checks(self) -> ProblemSpec:
        names = {p.name for p in self.function.params}
        fn = self.function
        binders = {p.binds: p.name for p in fn.params if isinstance(p, ScalarParam) and p.binds}
        symbols = fn.bound_dims() - set(binders)
        outputs = {path for path, _ in fn.leaves() if path}
        outputs |= {path.rsplit(".", i)[0] for path in set(outputs) for i in range(1, 9)}
        for key in self.tolerance.per_output:
            if key not in outputs:
                raise ValueError(f"tolerance.per_output names {key!r}, which is no output "
                                 f"(outputs: {', '.join(sorted(outputs)) or 'one array'})")
        leaf_paths = [path for path, _ in fn.leaves()]
        for c in self.statistics:
            if c.output is not None and c.output not in leaf_paths:
                shown = ", ".join(p or "(one array)" for p in leaf_paths)
                raise ValueError(f"statistics {c.name!r} output {c.output!r} is no leaf of the "
                                 f"return (leaves: {shown})")
            if c.output is None and fn.structured:
                raise ValueError(f"statistics {c.name!r}: the return is a tuple or tree; say "
                                 f"which leaf the check judges with `output:` (one of "
                                 f"{', '.join(leaf_paths)})")
        if not self.tests and not self.generated:
            raise ValueError("a problem needs at least one entry in `tests` or `generated`")
        for t in self.tests:
            _same_keys(f"test {t.name!r} args", set(t.args), names)
        for g in self.generated:
            _same_keys(f"generated {g.name!r} args", set(g.args), names)
            bound = sorted(set(g.sizes) & set(binders))
            if bound:
                raise ValueError(f"generated {g.name!r} sizes name {bound}, which parameter "
                                 f"{binders[bound[0]]!r} binds: draw that parameter instead")
            unknown = set(g.sizes) - symbols
            if unknown:
                raise ValueError(f"generated {g.name!r} sizes name {sorted(unknown)}, not dims")
            missing = symbols - set(g.sizes)
            if missing:
                raise ValueError(f"generated {g.name!r} sizes lack {sorted(missing)}")
        if self.tolerance.scale is not None and self.tolerance.scale.arg not in names:
            raise ValueError(f"tolerance.scale.arg {self.tolerance.scale.arg!r} is no parameter")
        if self.tolerance.scale is not None and isinstance(
                fn.param(self.tolerance.scale.arg), CallableParam):
            raise ValueError(f"tolerance.scale.arg {self.tolerance.scale.arg!r} is a function, "
                             "which has no size: name an array")
        for c in self.statistics:
            if c.seed_param in c.args:
                raise ValueError(f"statistics {c.name!r}: {c.seed_param!r} is the seed; the "
                                 "check draws it from seed_offset, remove it from args")
            _same_keys(f"statistics {c.name!r} args", set(c.args) | {c.seed_param}, names)
            if isinstance(c, SumZeroCheck | SumCheck) and c.scale is not None \
                    and c.scale.arg not in names:
                raise ValueError(f"statistics {c.name!r} scale.arg is no parameter")
        all_names = [t.name for t in self.tests] + [g.name for g in self.generated]
        all_names += [s.name for s in self.statistics]
        dup = {n for n in all_names if all_names.count(n) > 1}
        if dup:
            raise ValueError(f"test names repeat: {sorted(dup)}")
        validate_checks(self)
        return self


def _same_keys(what: str, got: set[str], want: set[str]) -> None:
    if got != want:
        parts = []
        if want - got:
            parts.append(f"missing {sorted(want - got)}")
        if got - want:
            parts.append(f"unknown {sorted(got - want)}")
        raise ValueError(f"{what}: {', '.join(parts)} (parameters are {sorted(want)})")


def load_spec(path: Path) -> ProblemSpec:
    """Parse and validate one problem.yaml, turning every failure into a SpecError."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(str(path), where, f"malformed YAML: {problem}") from exc
    if not isinstance(raw, dict):
        raise SpecError(str(path), "", "expected a mapping of keys at the top level")
    try:
        spec = ProblemSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p)) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key; remove it or fix its spelling (see `jaxjudge schema`)"
        raise SpecError(str(path), key, msg + more) from exc
    if spec.id != path.parent.name:
        raise SpecError(str(path), "id", f"is {spec.id!r} but the folder is {path.parent.name!r}")
    check_callables(spec, path)
    return spec


def _is_union_tag(part: object) -> bool:
    """pydantic puts the chosen union member ('array', 'uniform', ...) into error locations."""
    return isinstance(part, str) and bool(
        re.fullmatch(r"array|float|int|bool|choice|key|callable|tree|tuple|leaf|node|uniform|normal"
                     r"|int_range|bernoulli|pick|simplex|spd|constant|mean_z|variance_ratio"
                     r"|invariant_sum_zero|invariant_sum|invariant_nonnegative", part)
    )


__all__ = ["DIFFICULTIES", "EXAMPLE", "GIVEN", "AnyParam", "AnyReturns", "ArgGenerator",
           "ArrayParam", "Bernoulli", "BoolParam", "CallableParam", "ChoiceParam", "Constant",
           "DType", "Diagnosis", "ExplicitTest", "Function", "GeneratedTests", "IntRange",
           "KeyParam",
           "Leaf", "Leaves", "Limits", "Normal", "Param", "Pick", "ProblemSpec", "Returns",
           "ScalarParam", "Simplex", "Spd", "Tolerance", "TreeParam", "TreeReturns",
           "TupleReturns", "Uniform", "given_names", "load_spec", "walk_leaves"]
