"""Function checks (jit, vmap, jvp, vjp): the spec rejects what cannot run and names the key;
the rows, their draws and batches are what the docs say; the runner's transform is JAX's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

from grader.errors import SpecError
from grader.model.problems import Problem
from grader.model.spec import load_spec
from grader.model.transforms import batched, check_rows
from grader.sandbox.runner import Mismatch, transformed

BASE: dict[str, Any] = {
    "id": "fc", "title": "function checks",
    "function": {"name": "f", "params": [
        {"name": "x", "kind": "array", "dtype": "float32", "shape": ["N"]},
        {"name": "m", "kind": "array", "dtype": "float32", "shape": ["N", "N"]},
        {"name": "n", "kind": "int"},
        {"name": "mode", "kind": "choice", "values": ["a", "b"]},
        {"name": "k", "kind": "array", "dtype": "int32", "shape": ["N"]}],
        "returns": {"dtype": "float32", "shape": ["N"]}},
    "tolerance": {"rtol": 1e-5, "atol": 1e-6},
    "tests": [{"name": "one", "visible": True, "args": {
        "x": [1.0, 2.0], "m": [[1.0, 0.0], [0.0, 2.0]], "n": 3, "mode": "a", "k": [0, 1]}},
        {"name": "two", "args": {
            "x": [3.0, 4.0], "m": [[2.0, 1.0], [1.0, 2.0]], "n": 4, "mode": "b", "k": [1, 0]}}],
}


def _load(tmp_path: Path, checks: list[dict[str, Any]], **more: Any) -> Any:
    folder = tmp_path / "fc"
    folder.mkdir(exist_ok=True)
    (folder / "problem.yaml").write_text(yaml.safe_dump({**BASE, **more,
                                                         "function_checks": checks}))
    return load_spec(folder / "problem.yaml")


# (the check, the key path the error names, words of the message)
INVALID = [
    ({"name": "g", "transform": "grad"}, "function_checks.0.transform", "'vjp'"),
    ({"name": "g", "transform": "jit", "statik": ["n"]}, "function_checks.0.statik",
     "unknown key"),
    ({"name": "g", "transform": "vjp", "wrt": ["x"]}, "function_checks.0", "needs `cotangent`"),
    ({"name": "g", "transform": "vjp", "cotangent": {"dist": "normal"}}, "function_checks.0",
     "needs `wrt`"),
    ({"name": "g", "transform": "jvp", "wrt": ["x"], "tangent": {"dist": "normal"},
      "cotangent": {"dist": "normal"}}, "function_checks.0", "`cotangent` is no key of a jvp"),
    ({"name": "g", "transform": "jit", "static": ["mode"], "in_axes": {"x": 0}},
     "function_checks.0", "`in_axes` is no key of a jit"),
    ({"name": "g", "transform": "vjp", "wrt": ["y"], "cotangent": {"dist": "normal"}},
     "(top level)", "wrt: 'y' is no parameter"),
    ({"name": "g", "transform": "vjp", "wrt": ["k"], "cotangent": {"dist": "normal"}},
     "(top level)", "'k' is no float array parameter"),
    ({"name": "g", "transform": "vjp", "wrt": ["x"], "cotangent": {"dist": "cauchy"}},
     "function_checks.0.cotangent", "normal"),
    ({"name": "g", "transform": "jit", "static": ["x", "mode"]}, "(top level)",
     "'x' is an array"),
    ({"name": "g", "transform": "jit", "static": ["n"]}, "(top level)",
     "choice parameter 'mode' must be static"),
    ({"name": "g", "transform": "jit", "static": ["mode"], "tests": ["three"]}, "(top level)",
     "'three' is no test"),
    ({"name": "g", "transform": "vmap", "in_axes": {"n": 0}}, "(top level)",
     "'n' is no array parameter"),
    ({"name": "g", "transform": "vmap", "in_axes": {"x": 2}}, "(top level)",
     "its batch axis is at most 1"),
    ({"name": "g", "transform": "vmap", "in_axes": {"x": 0}, "batch": 1},
     "function_checks.0.batch", "greater than or equal to 2"),
]


@pytest.mark.parametrize(("check", "key", "words"), INVALID, ids=[str(i) for i in
                                                                  range(len(INVALID))])
def test_invalid_function_check_names_file_and_key(tmp_path: Path, check: dict[str, Any],
                                                   key: str, words: str) -> None:
    with pytest.raises(SpecError) as info:
        _load(tmp_path, [check])
    assert info.value.path.endswith("fc/problem.yaml")
    assert info.value.key == key, str(info.value)
    assert words in str(info.value), str(info.value)


def test_vjp_needs_one_float_array_return(tmp_path: Path) -> None:
    fn = {**BASE["function"], "returns": {"kind": "tuple", "items": [
        {"name": "a", "dtype": "float32", "shape": ["N"]}]}}
    with pytest.raises(SpecError, match="needs a return of one float array"):
        _load(tmp_path, [{"name": "g", "transform": "vjp", "wrt": ["x"],
                          "cotangent": {"dist": "normal"}}], function=fn)


def test_repeated_check_names_are_refused(tmp_path: Path) -> None:
    check = {"name": "g", "transform": "jit", "static": ["mode"]}
    with pytest.raises(SpecError, match="function_checks names repeat"):
        _load(tmp_path, [check, check])


def test_rows_per_test_named_and_visible_like_it_with_fixed_draws(tmp_path: Path) -> None:
    spec = _load(tmp_path, [
        {"name": "grad", "transform": "vjp", "wrt": ["x", "m"],
         "cotangent": {"dist": "uniform", "low": -1.0, "high": 1.0}},
        {"name": "tan", "transform": "jvp", "wrt": ["x"], "tangent": {"dist": "normal"}},
        {"name": "jit", "transform": "jit", "static": ["n", "mode"], "tests": ["two"]},
        {"name": "map", "transform": "vmap", "in_axes": {"m": 1}, "batch": 4}])
    rows = check_rows(Problem(tmp_path, spec))
    assert [(r.name, r.visible) for r in rows] == [
        ("grad:one", True), ("grad:two", False), ("tan:one", True), ("tan:two", False),
        ("jit:two", False), ("map:one", True), ("map:two", False)]
    ct = rows[0].transform["cotangent"]
    assert ct.shape == (2,) and ct.dtype == np.float32 and np.all(np.abs(ct) <= 1)
    assert rows[0].leaf_paths == ("x", "m")  # two gradients, a tuple for the runner
    assert rows[0].transform["returns"] == {"kind": "tuple", "items": [
        ["x", {"kind": "array"}], ["m", {"kind": "array"}]]}
    again = check_rows(Problem(tmp_path, spec))
    np.testing.assert_array_equal(again[0].transform["cotangent"], ct)  # a fixed seed
    assert not np.array_equal(rows[1].transform["cotangent"], ct)  # per test
    assert rows[2].transform["tangents"]["x"].shape == (2,) and rows[2].leaf_paths == ()
    assert rows[2].transform["returns"] is None  # one array
    assert rows[4].transform == {"transform": "jit", "static": ["n", "mode"], "returns": None}
    m = rows[6].args["m"]
    assert m.shape == (2, 4, 2)  # the batch stacked along axis 1
    assert rows[6].args["x"].shape == (2,)  # unmapped: as the test gives it


def test_batch_members_keep_the_values_and_symmetry() -> None:
    m = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 4.0]])
    members = [batched(m, k) for k in range(4)]
    np.testing.assert_array_equal(members[0], m)
    assert len({b.tobytes() for b in members}) == 4  # all different
    for b in members:
        np.testing.assert_array_equal(b, b.T)
        np.testing.assert_allclose(np.linalg.eigvalsh(b), np.linalg.eigvalsh(m))


def _f(x: Any, m: Any, n: int) -> Any:
    return jnp.tanh(m @ x) * n


def test_runner_transforms_are_jaxs() -> None:
    x = np.array([0.5, -1.0], np.float32)
    m = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)
    args = {"x": x, "m": m, "n": 3}
    ct = np.array([1.0, -2.0], np.float32)
    got = transformed(_f, args, {"transform": "vjp", "wrt": ["x", "m"], "cotangent": ct})
    want = jax.vjp(lambda a, b: _f(a, b, 3), x, m)[1](ct)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6)
    t = np.array([0.1, 0.2], np.float32)
    np.testing.assert_allclose(
        transformed(_f, args, {"transform": "jvp", "wrt": ["x"], "tangents": {"x": t}}),
        jax.jvp(lambda a: _f(a, m, 3), (x,), (t,))[1], rtol=1e-6)
    batch = np.stack([x, 2 * x, 3 * x])
    np.testing.assert_allclose(
        transformed(_f, {**args, "x": batch}, {"transform": "vmap", "in_axes": {"x": 0}}),
        np.stack([_f(b, m, 3) for b in batch]), rtol=1e-6)
    with pytest.raises(jax.errors.TracerIntegerConversionError):  # n traced: range() needs int
        transformed(lambda x, m, n: x * len(range(n)), args, {"transform": "jit",
                                                               "static": []})
    assert float(transformed(lambda x, m, n: x * len(range(n)), args,
                             {"transform": "jit", "static": ["n"]})[0]) == 1.5
    with pytest.raises(Mismatch, match=r"returns float32\[2, 2\]; the cotangent is for the "
                                       r"declared float32\[2\]"):
        transformed(lambda x, m, n: m * 1.0, args, {"transform": "vjp", "wrt": ["x"],
                                                    "cotangent": ct})


def test_a_check_in_a_problem_with_functions_judges_its_entry_on_its_tests() -> None:
    """adam_step's jit check: rows only on tests that call adam_step, each call naming the
    entry (the runner's CALL_KEY) beside the transform, flattened by adam_step's structure."""
    from grader.model.problems import entries_by_test, load_problem
    from grader.sandbox.runner import CALL_KEY, TRANSFORM_KEY

    problem = load_problem("adam_step")
    rows = check_rows(problem)
    assert [(r.name, r.visible) for r in rows] == [
        ("traces_under_jit:worked_example", True), ("traces_under_jit:layer_0", False)]
    row = rows[0]
    assert row.call[CALL_KEY] == "adam_step" and row.call[TRANSFORM_KEY]["transform"] == "jit"
    assert row.leaf_paths[:2] == ("new_params.w", "new_params.b")
    assert row.transform["returns"]["kind"] == "tuple"
    by_name = entries_by_test(problem)
    assert by_name is not None and by_name[row.name].name == "adam_step"
    assert by_name["init_then_two_steps.step0"].name == "adam_init"
