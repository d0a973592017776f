"""`kind: callable` in problem.yaml: a function of the problem's given.py, named by each test.
Every mistake names the file and the key path; a name no choice declares never resolves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader.errors import SpecError
from grader.model.given import GivenName
from grader.model.inputs import InputError, call_args
from grader.model.problems import load_problem, signature
from grader.model.sequences import materialise
from grader.model.spec import ProblemSpec, load_spec

GIVEN = '''
import os
import jax.numpy as jnp

def square(x):
    return jnp.sum(x ** 2)

def cube(x):
    return jnp.sum(x ** 3)
'''

SPEC = '''
id: given_step
title: A callable parameter
function:
  name: step
  params:
    - {name: f, kind: callable, module: given, choices: [square, cube]}
    - {name: x, kind: array, dtype: float32, shape: [D]}
  returns: {dtype: float32, shape: [D]}
tolerance: {rtol: 1.0e-5, atol: 1.0e-6}
tests:
  - name: one
    args: {f: square, x: [1.0, 2.0]}
generated:
  - name: drawn
    count: 4
    seed: 3
    sizes: {D: [2]}
    args:
      f: {dist: pick}
      x: {dist: normal}
'''


def write(tmp_path: Path, spec: str = SPEC, given: str | None = GIVEN) -> Path:
    folder = tmp_path / "problems" / "given_step"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "problem.yaml").write_text(spec)
    if given is not None:
        (folder / "given.py").write_text(given)
    return folder / "problem.yaml"


def test_a_callable_loads_and_its_tests_name_choices(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path))
    cases = materialise(spec)
    assert cases[0].args["f"] == "square" and isinstance(cases[0].args["f"], GivenName)
    drawn = {str(c.args["f"]) for c in cases[1:]}
    assert drawn <= {"square", "cube"} and len(drawn) == 2  # pick draws among the choices
    (tmp_path / "reference").mkdir()
    problem = load_problem("given_step", tmp_path)
    assert problem.given_choices == ("square", "cube")
    assert "f: function of given.py: square | cube" in signature(problem)
    # The judge's own copy resolves the name, for the reference only among the choices.
    args = call_args(cases[0].args, problem.given_functions)
    assert float(args["f"](np.array([1.0, 2.0]))) == 5.0
    with pytest.raises(InputError, match="no given function"):
        call_args({"f": GivenName("os")}, problem.given_functions)


# (what to replace in SPEC, with what, the key path the error names, words of the message)
BROKEN = [
    ("choices: [square, cube]}", "choices: [square, cube], path: x.py}",
     "function.params.0.path", "unknown key"),
    ("choices: [square, cube]", "choices: []", "function.params.0.choices",
     "at least 1 item"),
    ("module: given", "module: helpers", "function.params.0.module", "'given'"),
    ("choices: [square, cube]", "choices: [square, quartic]", "function.params.0.choices.1",
     "'quartic' is not defined in"),
    ("choices: [square, cube]", "choices: [square, os.system]", "function.params.0.choices.1",
     "should match pattern"),
    ("choices: [square, cube]", "choices: [square, square]", "function.params.0.choices",
     "choices repeat"),
    ("{f: square, x: [1.0, 2.0]}", "{f: os.system, x: [1.0, 2.0]}", "tests.0.args.f",
     "'os.system' is not one of the choices of callable 'f': square, cube"),
    ("{f: square, x: [1.0, 2.0]}", "{f: os, x: [1.0, 2.0]}", "tests.0.args.f",
     "'os' is not one of the choices"),
    ("{f: square, x: [1.0, 2.0]}", "{f: [square], x: [1.0, 2.0]}", "tests.0.args.f",
     "is not one of the choices"),
    ("f: {dist: pick}", "f: {value: jnp}", "generated.0.args.f.value",
     "'jnp' is not one of the choices"),
    ("f: {dist: pick}", "f: {dist: normal}", "generated.0.args.f",
     "drawn by {value: <choice>} or {dist: pick}"),
]


@pytest.mark.parametrize(("old", "new", "key", "words"), BROKEN,
                         ids=[f"{i}-{b[2]}" for i, b in enumerate(BROKEN)])
def test_broken_callable_names_file_and_key(tmp_path: Path, old: str, new: str, key: str,
                                            words: str) -> None:
    assert old in SPEC
    path = write(tmp_path, SPEC.replace(old, new, 1))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert (info.value.path, info.value.key) == (str(path), key), str(info.value)
    assert words in str(info.value), str(info.value)


def test_missing_or_broken_given_py_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, given=None)
    with pytest.raises(SpecError, match=r"needs .*given\.py: cannot read it") as info:
        load_spec(path)
    assert info.value.key == "function.params.0"
    write(tmp_path, given="def square(x:\n")
    with pytest.raises(SpecError, match="is no valid Python") as info:
        load_spec(path)
    assert info.value.path.endswith("given.py")


def test_a_statistics_arg_names_a_choice(tmp_path: Path) -> None:
    spec = SPEC.replace("    - {name: x,", "    - {name: seed, kind: key}\n    - {name: x,")
    spec = spec.replace("{f: square, x: [1.0, 2.0]}", "{f: square, seed: 1, x: [1.0, 2.0]}")
    spec = spec.replace("      x: {dist: normal}",
                        "      seed: {value: 2}\n      x: {dist: normal}")
    stats = ("statistics:\n  - {name: m, kind: invariant_nonnegative, seeds: 20, "
             "seed_param: seed, args: {f: %s, x: [1.0, 2.0]}}\n")
    load_spec(write(tmp_path, spec + stats % "cube"))
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, spec + stats % "print"))
    assert info.value.key == "statistics.0.args.f" and "'print' is not one of" in str(info.value)


def test_schema_has_the_callable_kind() -> None:
    schema = json.dumps(ProblemSpec.model_json_schema())
    assert "CallableParam" in schema and '"callable"' in schema and "choices" in schema


TWO = '''
id: given_step
title: Callable parameters in two entries
functions:
  - name: step
    params:
      - {name: f, kind: callable, module: given, choices: [square]}
      - {name: x, kind: array, dtype: float32, shape: [D]}
    returns: {dtype: float32, shape: [D]}
  - name: other
    params:
      - {name: g, kind: callable, module: given, choices: [cube]}
      - {name: x, kind: array, dtype: float32, shape: [D]}
    returns: {dtype: float32, shape: [D]}
tolerance: {rtol: 1.0e-5, atol: 1.0e-6}
tests:
  - {name: one, call: step, args: {f: square, x: [1.0, 2.0]}}
  - {name: two, call: other, args: {g: cube, x: [1.0, 2.0]}}
'''


def test_callables_in_several_entries_each_take_their_own_choices(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, TWO))
    assert [str(c.args.get("f", c.args.get("g"))) for c in materialise(spec)] == ["square", "cube"]
    (tmp_path / "reference").mkdir()
    problem = load_problem("given_step", tmp_path)
    assert problem.given_choices == ("square", "cube")  # every entry's: the jail resolves them
    assert set(problem.given_functions) == {"square", "cube"}
    # A test names its own entry's choices: cube is the other entry's, not step's.
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, TWO.replace("{f: square,", "{f: cube,")))
    assert info.value.key == "tests.0.args.f"
    assert "'cube' is not one of the choices of callable 'f': square" in str(info.value)
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, TWO.replace("choices: [cube]", "choices: [cub]")))
    assert info.value.key == "functions.1.params.0.choices.0"
