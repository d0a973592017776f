"""Finds problems on disk: spec, statement and reference, located from one root folder."""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.errors import JudgeError, ReferenceSolutionError, SpecError, UnknownProblemError
from grader.model.inputs import InputError, TestCase, call_args
from grader.model.sequences import materialise
from grader.model.spec import (
    GIVEN,
    AnyParam,
    ArrayParam,
    CallableParam,
    ChoiceParam,
    Function,
    ProblemSpec,
    ScalarParam,
    TreeParam,
    TreeReturns,
    TupleReturns,
    load_spec,
)
from grader.model.transforms import CheckRow, check_rows
from grader.model.values import Mismatch, Output, trusted_output


def default_root() -> Path:
    """The folder holding problems/ and reference/: $JAXJUDGE_ROOT, else this checkout."""
    env = os.environ.get("JAXJUDGE_ROOT")
    return Path(env) if env else Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Problem:
    root: Path
    spec: ProblemSpec

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def spec_path(self) -> Path:
        return self.root / "problems" / self.id / "problem.yaml"

    @property
    def statement_path(self) -> Path:
        return self.root / "problems" / self.id / "statement.md"

    @property
    def reference_path(self) -> Path:
        return self.root / "reference" / f"{self.id}.py"

    @property
    def given_path(self) -> Path | None:
        """problems/<id>/given.py when a `kind: callable` parameter needs it, else None."""
        if not self.given_choices:
            return None
        return self.root / "problems" / self.id / GIVEN

    @property
    def given_choices(self) -> tuple[str, ...]:
        """Every name a callable parameter may take, in declared order."""
        names = [c for f in self.spec.entries for p in f.params if isinstance(p, CallableParam)
                 for c in p.choices]
        return tuple(dict.fromkeys(names))

    def given_source(self) -> str | None:
        """given.py's text, which learners may read (it is course material, not a secret)."""
        path = self.given_path
        if path is None:
            return None
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise JudgeError(f"{path}: cannot read the given functions") from exc

    @cached_property
    def given_functions(self) -> dict[str, Callable[..., Any]]:
        """The declared choices, resolved in given.py run once in the judge's process (trusted:
        the reference's calls get these); {} for a problem without callable parameters."""
        path = self.given_path
        if path is None:
            return {}
        module = load_given(path, f"jaxjudge_given_{self.id}")
        out = {}
        for name in self.given_choices:
            fn = module.__dict__.get(name)
            if not callable(fn) or isinstance(fn, type):
                raise JudgeError(f"{path}: {name!r}, a choice of a callable parameter, is no "
                                 "function there")
            out[name] = fn
        return out

    @property
    def submissions_dir(self) -> Path:
        return self.root / "submissions" / self.id

    def statement(self) -> str:
        try:
            return self.statement_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise JudgeError(f"{self.statement_path}: cannot read statement") from exc

    @cached_property
    def tests(self) -> list[TestCase]:
        """The fixed tests; a sequence's steps take the reference's earlier outputs, so a spec
        with `steps` runs the reference here (see `run_reference`)."""
        try:
            return materialise(self.spec, self.run_reference)
        except InputError as exc:
            raise SpecError(str(self.spec_path), "", str(exc)) from exc

    @cached_property
    def check_rows(self) -> list[CheckRow]:
        """The function checks' report rows (one per check and test), after the tests."""
        return check_rows(self)

    @cached_property
    def reference_module(self) -> ModuleType:
        """The trusted reference, imported once; only ever used outside any sandbox."""
        path = self.reference_path
        if not path.is_file():
            raise JudgeError(f"{path}: reference solution missing")
        spec = importlib.util.spec_from_file_location(f"jaxjudge_reference_{self.id}", path)
        if spec is None or spec.loader is None:
            raise JudgeError(f"{path}: cannot load reference")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise JudgeError(f"{path}: reference fails to import: {exc!r}") from exc
        return module

    def run_reference(self, case: TestCase) -> Output:
        """The reference's output on one test, run here (trusted), a tuple or tree as a dict of
        arrays by leaf path; its absence, an exception or another structure than the spec
        declares is the judge's fault (ReferenceSolutionError)."""
        fn = self.spec.entry(case.call)
        ref = getattr(self.reference_module, fn.name, None)
        if not callable(ref):
            raise ReferenceSolutionError(f"{self.reference_path}: defines no function {fn.name!r}")
        try:
            result = ref(**call_args(case.args, self.given_functions))
        except Exception as exc:
            raise ReferenceSolutionError(
                f"{self.reference_path}: raised {exc!r} on test {case.name!r}") from exc
        try:
            return trusted_output(fn, result)
        except (Mismatch, TypeError) as exc:
            raise ReferenceSolutionError(
                f"{self.reference_path}: test {case.name!r}: {exc}") from exc


def entries_by_test(problem: Problem) -> dict[str, Function] | None:
    """With `functions`: the entry each fixed test calls, by test name, and each jit or vmap
    function-check row's (their results have its structure); None with `function`."""
    if problem.spec.functions is None:
        return None
    return {**{c.name: problem.spec.entry(c.call) for c in problem.tests},
            **{r.name: problem.spec.entry(r.check.call) for r in problem.check_rows
               if r.check.transform in ("jit", "vmap")}}


def load_given(path: Path, name: str) -> types.ModuleType:
    """given.py as a module, compiled from its text (no bytecode written beside it)."""
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # dataclasses and the like look their module up
    try:
        source = path.read_text(encoding="utf-8")
        exec(compile(source, str(path), "exec"), module.__dict__)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise JudgeError(f"{path}: the given functions fail to load: {exc!r}") from exc
    return module


def load_problem(problem_id: str, root: Path | None = None) -> Problem:
    root = root or default_root()
    path = root / "problems" / problem_id / "problem.yaml"
    if not path.is_file():
        known = ", ".join(p.id for p in list_problems(root)) or "none"
        raise UnknownProblemError(f"unknown problem {problem_id!r} (known: {known})")
    return Problem(root, load_spec(path))


def list_problems(root: Path | None = None) -> list[Problem]:
    root = root or default_root()
    folder = root / "problems"
    ids = sorted(p.parent.name for p in folder.glob("*/problem.yaml")) if folder.is_dir() else []
    return [Problem(root, load_spec(root / "problems" / i / "problem.yaml")) for i in ids]


def signature(problem: Problem) -> str:
    """The function learners write, one line per entry of a problem with several."""
    return "\n".join(_signature(fn) for fn in problem.spec.entries)


def _signature(fn: Function) -> str:

    def shape(dims: Sequence[int | str]) -> str:
        return "[" + ", ".join(str(d) for d in dims) + "]"

    def tree(leaves: Any) -> str:
        return "{" + ", ".join(
            f"{k}: {tree(v) if isinstance(v, dict) else v.dtype + shape(v.shape)}"
            for k, v in leaves.items()) + "}"

    def kind(p: AnyParam) -> str:
        if isinstance(p, ArrayParam):
            return f"{p.dtype}{shape(p.shape)}"
        if isinstance(p, TreeParam):
            return tree(p.leaves)
        if isinstance(p, ChoiceParam):
            return " | ".join(repr(v) for v in p.values)
        if isinstance(p, CallableParam):
            return "function of given.py: " + " | ".join(p.choices)
        if isinstance(p, ScalarParam) and p.binds:
            return f"{p.kind} (= {p.binds})"
        return p.kind

    def returns(r: Any) -> str:
        if isinstance(r, TupleReturns):
            return "(" + ", ".join(f"{i.name}: {returns(i)}" for i in r.items) + ")"
        if isinstance(r, TreeReturns):
            return f"like {r.like}" if r.like else tree(r.leaves)
        return f"{r.dtype}{shape(r.shape)}"

    params = ", ".join(f"{p.name}: {kind(p)}" for p in fn.params)
    return f"{fn.name}({params}) -> {returns(fn.returns)}"
