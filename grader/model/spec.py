"""Strict pydantic models of problems/<id>/problem.yaml and the loader that reports bad keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from typing_extensions import TypeAliasType

from grader.errors import SpecError
from grader.model.checks import StatisticalCheck, SumCheck, SumZeroCheck
from grader.model.dims import is_name, symbols
from grader.model.strict import IDENT, Scale, Strict

DType = Literal["float32", "float64", "int32", "int64", "bool"]
Dim = Annotated[int, Field(ge=0)] | Annotated[str, Field(
    pattern=r"^[A-Za-z0-9_+*() -]+$", description='a name (K) or an expression ("T+1", "2*K")')]
EXAMPLE = r"^[A-Za-z0-9_]+/[A-Za-z0-9_.-]+\.py$"  # a path under submissions/<problem>/


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
        if len(set(v)) != len(v):
            raise ValueError(f"values repeat: {v}")
        return v


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


Leaves = TypeAliasType("Leaves", dict[  # type: ignore[misc]
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
Param = Annotated[ScalarParam | BoolParam | ChoiceParam | KeyParam | ArrayParam | TreeParam,
                  Field(discriminator="kind")]
AnyParam = ScalarParam | BoolParam | ChoiceParam | KeyParam | ArrayParam | TreeParam


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
        if len(set(names)) != len(names):
            raise ValueError(f"tuple item names repeat: {names}")
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
        if len(set(names)) != len(names):
            raise ValueError(f"parameter names repeat: {names}")
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
        for path, leaf in self.leaves():
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
            bound |= {d for shape in shapes_of(p) for d in shape if is_name(d)}
        return {str(d) for d in bound}

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


class ProblemSpec(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    function: Function
    limits: Limits = Limits()
    tolerance: Tolerance
    tests: list[ExplicitTest] = Field(default_factory=list)
    generated: list[GeneratedTests] = Field(default_factory=list)
    statistics: list[StatisticalCheck] = Field(default_factory=list)
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    sampling: str | None = Field(None, description=(
        "the sampling call the statement requires, quoted to learners who sample otherwise"))
    trusted_examples: list[Annotated[str, Field(pattern=EXAMPLE)]] = Field(
        default_factory=list, description=(
            "paths under submissions/<problem>/, e.g. accepted/x.py, written by the course "
            "staff: they may warm the compile cache unsandboxed"))
    show_reference_after_accepted: bool = Field(True, description=(
        "the reference solution on the problem page for a learner once they are accepted"))

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
    return spec


def _is_union_tag(part: object) -> bool:
    """pydantic puts the chosen union member ('array', 'uniform', ...) into error locations."""
    return isinstance(part, str) and bool(
        re.fullmatch(r"array|float|int|bool|choice|key|tree|tuple|leaf|node|uniform|normal"
                     r"|int_range|bernoulli|pick|simplex|spd|constant|mean_z|variance_ratio"
                     r"|invariant_sum_zero|invariant_sum|invariant_nonnegative", part)
    )
