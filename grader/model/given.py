"""`kind: callable`: a parameter naming a function of the problem's given.py (trusted course
material), its checks when a spec loads, and its arguments as the judge holds and resolves them."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from grader.errors import SpecError
from grader.model.generators import Constant, Pick
from grader.model.strict import IDENT, Strict, distinct

if TYPE_CHECKING:
    from grader.model.spec import ProblemSpec

GIVEN = "given.py"  # problems/<id>/given.py: the functions `kind: callable` parameters name


class CallableParam(Strict):
    """A function the problem supplies (trusted course material in problems/<id>/given.py):
    a test names one of `choices`, and the learner's code receives that function of given.py."""

    name: str = Field(pattern=IDENT)
    kind: Literal["callable"]
    module: Literal["given"] = Field("given", description=(
        "the file that defines the choices: given (problems/<id>/given.py)"))
    choices: list[Annotated[str, Field(pattern=IDENT, max_length=100)]] = Field(
        min_length=1, max_length=100, description="names of functions defined in given.py")

    @field_validator("choices")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        return distinct(v, "choices")


class GivenName(str):
    """A `kind: callable` argument as the judge holds it: the name of one of the parameter's
    choices. The function receives given.<name>, resolved where it runs (the jail, from its
    staged given.py, or the judge for the reference) and only among the declared choices."""

    given_name = True  # how the sandbox's encoder, which imports nothing of the model, knows it

    def __repr__(self) -> str:
        return f"GivenName({str(self)!r})"


def given_name(param: CallableParam, value: Any, error: type[Exception]) -> GivenName:
    if not isinstance(value, str) or value not in param.choices:
        raise error(f"expected one of {param.choices} (functions of given.py) for "
                    f"{param.name!r}, got {value!r}")
    return GivenName(value)


def resolve(args: Mapping[str, Any], given: Mapping[str, Callable[..., Any]] | None,
            error: type[Exception]) -> dict[str, Any]:
    """The arguments with each GivenName replaced by its function in `given` (the problem's
    given functions, by declared name): trusted code in the judge's process."""
    out = dict(args)
    for k, v in args.items():
        if isinstance(v, GivenName):
            if given is None or str(v) not in given:
                raise error(f"{k!r} names {str(v)!r}, which is no given function here")
            out[k] = given[str(v)]
    return out


def given_names(source: str) -> set[str]:
    """The names given.py binds at its top level (def, class, assignment), read without running
    it: a spec can be checked where nothing of the problem may be executed."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def check_callables(spec: ProblemSpec, path: Path) -> None:
    """Every `kind: callable` choice is defined in the problem's given.py, and every test (a
    sequence's steps), generator and statistical check names one of the choices (file and key
    path in errors). With `functions`, each entry's parameters, in what calls that entry."""
    several = spec.functions is not None
    found = [(f"functions.{e}." if several else "function.", f,
              [(i, p) for i, p in enumerate(f.params) if isinstance(p, CallableParam)])
             for e, f in enumerate(spec.entries)]
    found = [x for x in found if x[2]]
    if not found:
        return
    given = path.parent / GIVEN
    try:
        defined = given_names(given.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(str(path), f"{found[0][0]}params.{found[0][2][0][0]}", (
            f"a callable parameter needs {given}: cannot read it ({exc.strerror})")) from exc
    except (SyntaxError, ValueError) as exc:
        raise SpecError(str(given), "", f"is no valid Python: {exc}") from exc

    def named(where: str, p: CallableParam, value: Any) -> None:
        if not isinstance(value, str) or value not in p.choices:
            raise SpecError(str(path), where, (
                f"{value!r} is not one of the choices of callable {p.name!r}: "
                f"{', '.join(p.choices)}"))

    for at, fn, params in found:
        def mine(t: Any, fn: Any = fn) -> bool:
            return not several or t.call == fn.name

        for i, p in params:
            for j, choice in enumerate(p.choices):
                if choice not in defined:
                    raise SpecError(str(path), f"{at}params.{i}.choices.{j}", (
                        f"{choice!r} is not defined in {given} (it defines: "
                        f"{', '.join(sorted(defined)) or 'nothing'})"))
        for _, p in params:
            for k, t in enumerate(spec.tests):
                for j, step in enumerate(t.steps or ()):
                    if step.call == fn.name:
                        named(f"tests.{k}.steps.{j}.args.{p.name}", p, step.args[p.name])
                if t.args is not None and mine(t):
                    named(f"tests.{k}.args.{p.name}", p, t.args[p.name])
            for k, g in enumerate(spec.generated):
                if not mine(g):
                    continue
                how = g.args[p.name]
                if isinstance(how, Constant):
                    named(f"generated.{k}.args.{p.name}.value", p, how.value)
                elif not isinstance(how, Pick):
                    raise SpecError(str(path), f"generated.{k}.args.{p.name}", (
                        f"callable {p.name!r} is drawn by {{value: <choice>}} or "
                        f"{{dist: pick}}, not dist {getattr(how, 'dist', how)}"))
            for k, c in enumerate(spec.statistics):
                if mine(c):
                    named(f"statistics.{k}.args.{p.name}", p, c.args[p.name])
