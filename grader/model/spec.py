"""Strict pydantic models of problems/<id>/problem.yaml and the loader that reports bad keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from grader.errors import SpecError
from grader.model.checks import StatisticalCheck
from grader.model.entries import Step, check_call, check_steps, entry_checks, test_names
from grader.model.examples import (
    EXAMPLE,
    Diagnosis,
    EquivalentMutant,
    check_equivalent_mutants,
)
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
    check_leaf_generators,
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
from grader.model.strict import IDENT, Scale, Strict, distinct
from grader.model.transforms import FunctionCheck, validate_checks


class Limits(Strict):
    time_per_test_s: float = Field(10.0, gt=0, le=600)
    total_time_s: float = Field(120.0, gt=0, le=3600)
    startup_s: float = Field(30.0, gt=0, le=600, description=(
        "loading the submission's file (its imports and top-level code), counted from when the "
        "judge's runner is ready (interpreter and jax imported)"))
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


CALL = Field(None, pattern=IDENT, description=(
    "with `functions`: the entry this test calls (a `functions` name); none with `function`"))


class ExplicitTest(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    call: str | None = CALL
    args: dict[str, Any] | None = Field(None, description="the arguments; or give `steps`")
    steps: list[Step] | None = Field(None, min_length=2, max_length=16, description=(
        "with `functions`, instead of `call` and `args`: entries called in order, each judged "
        "against the reference on its own (a report line per step, `<name>.step<k>`), later "
        "steps taking the reference's earlier outputs as `$k`"))
    visible: bool = False
    points: float = Field(1.0, ge=0, description="a sequence's points are shared by its steps")

    @model_validator(mode="after")
    def _args_or_steps(self) -> ExplicitTest:
        if (self.args is None) == (self.steps is None):
            raise ValueError("give `args` (one call) or `steps` (a sequence of calls), exactly "
                             "one")
        if self.steps is not None and self.call is not None:
            raise ValueError("a sequence names the entry of each step (`steps: [{call: ..., "
                             "args: ...}]`): remove the test's own `call`")
        return self


class GeneratedTests(Strict):
    """`count` tests drawn from a seeded generator, so hidden suites need no hand-written arrays."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    call: str | None = CALL
    count: int = Field(ge=1, le=1000)
    seed: int = Field(ge=0)
    sizes: dict[str, list[Annotated[int, Field(ge=1)]]] = Field(
        default_factory=dict, description="choices per symbolic dimension; few keep compiles few"
    )
    args: dict[str, ArgGenerator]
    visible: bool = False
    points: float = Field(1.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _no_steps(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "steps" in raw:
            raise ValueError("`steps` (a sequence of calls) is for explicit `tests`, whose later "
                             "steps take the reference's earlier outputs; generated tests "
                             "draw one call each: move the sequence to `tests`")
        return raw


# Words, not 1..3: they read the same in problem.yaml, `jaxjudge list` and the pages, with no
# legend to look up, and the JSON Schema offers them to an editor. In order, easiest first.
DIFFICULTIES = ("easy", "medium", "hard")
TAG = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class ProblemSpec(Strict):
    model_config = ConfigDict(json_schema_extra={
        "oneOf": [{"required": ["function"]}, {"required": ["functions"]}]})

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    difficulty: Literal["easy", "medium", "hard"] | None = Field(None, description=(
        "how hard the problem is for a learner who has solved the ones before it in its track; "
        "shown where a learner chooses a problem"))
    tags: list[str] = Field(default_factory=list, max_length=8, description=(
        "topics, lower-case words joined by '-', e.g. score-function; shown beside the title"))
    # `spec.function` (the property below) is the one entry, or the first of `functions`.
    function_: Function | None = Field(None, alias="function", description=(
        "the one function learners write; or give `functions`"))
    functions: list[Function] | None = Field(None, min_length=2, max_length=8, description=(
        "several entry points of one problem (init and update, two estimators): each test, "
        "generated test and statistical check names the one it calls with `call:`"))
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
    equivalent_mutants: list[EquivalentMutant] = Field(default_factory=list, description=(
        "survivors of `verify --mutants` that give the reference's answer, each with the reason"))
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

    @property
    def function(self) -> Function:
        """The problem's function: its one entry, or the first of `functions`."""
        if self.function_ is not None:
            return self.function_
        assert self.functions
        return self.functions[0]

    @property
    def entries(self) -> list[Function]:
        return [self.function_] if self.function_ is not None else list(self.functions or [])

    def entry(self, call: str | None) -> Function:
        """The function a test, generated test or check calls (`call`: None for the one)."""
        return self.function if call is None else \
            next(f for f in self.entries if f.name == call)

    @model_validator(mode="after")
    def _cross_checks(self) -> ProblemSpec:
        if (self.function_ is None) == (self.functions is None):
            raise ValueError("give `function` (one entry) or `functions` (several), exactly one")
        distinct([f.name for f in self.entries], "functions names")
        several = self.functions is not None
        for where, items in (("tests", self.tests), ("generated", self.generated),
                             ("statistics", self.statistics)):
            for i, t in enumerate(items):
                if isinstance(t, ExplicitTest) and t.steps is not None:
                    check_steps(self, i, t)
                    continue
                check_call(self, t.call, f"{where}.{i} ({t.name!r})")
        outputs = set().union(*(entry_checks(self, f, several) for f in self.entries))
        for key in self.tolerance.per_output:
            if key not in outputs:
                raise ValueError(f"tolerance.per_output names {key!r}, which is no output "
                                 f"(outputs: {', '.join(sorted(outputs)) or 'one array'})")
        all_names = [n for t in self.tests for n in test_names(t)]
        all_names += [g.name for g in self.generated]
        all_names += [s.name for s in self.statistics]
        dup = {n for n in all_names if all_names.count(n) > 1}
        if dup:
            raise ValueError(f"test names repeat: {sorted(dup)}")
        validate_checks(self)
        check_equivalent_mutants(self.equivalent_mutants, self.trusted_examples)
        return self


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
    check_leaf_generators(spec, path)
    return spec


def _is_union_tag(part: object) -> bool:
    """pydantic puts the chosen union member ('array', 'uniform', ...) into error locations."""
    return isinstance(part, str) and bool(
        re.fullmatch(r"array|float|int|bool|choice|key|callable|tree|tuple|leaf|node|uniform|normal"
                     r"|int_range|bernoulli|pick|simplex|spd|constant|per_leaf|mean_z|variance_ratio"
                     r"|invariant_sum_zero|invariant_sum|invariant_nonnegative", part)
    )


__all__ = ["DIFFICULTIES", "EXAMPLE", "GIVEN", "AnyParam", "AnyReturns", "ArgGenerator",
           "ArrayParam", "Bernoulli", "BoolParam", "CallableParam", "ChoiceParam", "Constant",
           "DType", "Diagnosis", "ExplicitTest", "Function", "GeneratedTests", "IntRange",
           "KeyParam",
           "Leaf", "Leaves", "Limits", "Normal", "Param", "Pick", "ProblemSpec", "Returns",
           "ScalarParam", "Simplex", "Spd", "Step", "Tolerance", "TreeParam", "TreeReturns",
           "TupleReturns", "Uniform", "given_names", "load_spec", "walk_leaves"]
