"""Issue 20's value kinds in problem.yaml: each loads, and each mistake names file, key and fix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader.errors import SpecError
from grader.model.dims import DimError, evaluate, symbols
from grader.model.problems import load_problem
from grader.model.sequences import materialise
from grader.model.spec import ProblemSpec, load_spec
from tests.specs import VALUES_SPEC


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tree_step" / "problem.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_every_kind_loads(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, VALUES_SPEC))
    fn = spec.function
    assert [p.kind for p in fn.params] == ["tree", "key", "bool", "choice", "int", "array",
                                           "array"]
    assert fn.structured
    assert [path for path, _ in fn.leaves()] == ["value", "grads.w", "grads.b", "per_sample",
                                                 "td"]
    assert fn.bound_dims() == {"D", "H", "N", "T"}
    assert spec.tolerance.per_output["value"].atol == 1e-4
    assert spec.statistics[0].output == "value"


# (what to replace in VALUES_SPEC, with what, key path the error names, words of the fix)
BROKEN = [
    ("shape: [\"T+1\"]", "shape: [\"T+\"]", "function.params.5.shape",
     'cannot evaluate dim \'T+\': write a dim as an int, a name (K), or names and ints joined'),
    ("shape: [\"T+1\"]", "shape: [\"T**2\"]", "function.params.5.shape", "cannot evaluate dim"),
    ("shape: [\"T+1\"]", "shape: [\"M+1\"]", "function",
     "uses ['M'], which no parameter binds (use it bare as some array's dim, or give an int "
     "parameter `binds: M`)"),
    ("{name: n, kind: int, binds: N}", "{name: n, kind: float, binds: N}", "function.params.4",
     "`binds` needs kind int"),
    ("{name: n, kind: int, binds: N}", "{name: n, kind: int}", "function",
     "return per_sample uses ['N'], which no parameter defines"),
    ("values: [mean, sum]", "values: [mean, mean]", "function.params.3.values",
     "values repeat"),
    ("{name: hard, kind: bool}", "{name: hard, kind: boolean}", "function.params.2",
     "does not match any of the expected tags: 'float', 'int', 'bool', 'choice', 'key'"),
    ("{name: grads, kind: tree, like: params}", "{name: grads, kind: tree}",
     "function.returns.items.1", "give `like: <tree parameter>` or `leaves: {...}`"),
    ("{name: grads, kind: tree, like: params}", "{name: grads, kind: tree, like: values}",
     "function", "`like: values` names no tree parameter"),
    ("{name: value, dtype: float32, shape: []}", "{dtype: float32, shape: []}",
     "function.returns", "every tuple item needs a `name`"),
    ("{name: value, dtype: float32, shape: []}", "{name: value, dtype: float32, shape: [], "
     "colour: red}", "function.returns.items.0.colour", "unknown key"),
    ("b: {dtype: float32, shape: [H]}}}", "b: {dtype: float32, shape: [H], size: 2}}}",
     "function.params.0.leaves.b.size", "unknown key"),
    ("per_output: {value: {atol: 1.0e-4}}", "per_output: {grads.x: {atol: 1.0e-4}}",
     "(top level)", "tolerance.per_output names 'grads.x', which is no output (outputs: "
     "grads, grads.b, grads.w, per_sample, td, value)"),
    ("    output: value\n", "", "(top level)",
     "statistics 'mean_square': the return is a tuple or tree; say which leaf the check "
     "judges with `output:`"),
    ("    output: value\n", "    output: grads\n", "(top level)",
     "output 'grads' is no leaf of the return"),
    ("reduction: {dist: pick}", "reduction: {dist: dice}", "generated.0.args.reduction",
     "bernoulli | pick | simplex | spd"),
    ("sizes: {D: [2], H: [2], T: [2]}", "sizes: {D: [2], H: [2], T: [2], N: [3]}",
     "(top level)", "sizes name ['N'], which parameter 'n' binds: draw that parameter instead"),
    # A tree's generators per leaf: every leaf, no other key, one generator for an array.
    ("params: {dist: normal}", "params: {w: {dist: normal}}", "generated.0.args.params.b",
     "missing leaf 'b': give a generator for every leaf, keys ['b', 'w'] (or one generator for "
     "all, e.g. {dist: normal})"),
    ("params: {dist: normal}", "params: {w: {dist: normal}, b: {value: 0}, c: {value: 1}}",
     "generated.0.args.params.c", "'c' is no leaf: give a generator for every leaf"),
    ("params: {dist: normal}", "params: {w: {dist: normal}, b: {x: {value: 0}}}",
     "generated.0.args.params.b", "leaf 'b' is an array: give one generator"),
    ("params: {dist: normal}", "params: {w: {dist: normal}, b: {dist: dice}}",
     "generated.0.args.params.b", "or, for a tree, {leaf: generator, ...}"),
    ("rewards: {dist: normal}", "rewards: {r: {dist: normal}}", "generated.0.args.rewards",
     "'rewards' is an array: a mapping of generators per leaf is for tree parameters"),
]


@pytest.mark.parametrize(("old", "new", "key", "words"), BROKEN,
                         ids=[f"{i}-{b[2]}" for i, b in enumerate(BROKEN)])
def test_broken_spec_names_file_key_and_fix(tmp_path: Path, old: str, new: str, key: str,
                                            words: str) -> None:
    assert old in VALUES_SPEC
    path = write(tmp_path, VALUES_SPEC.replace(old, new, 1))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = info.value
    assert err.path == str(path)
    assert err.key == key, str(err)
    assert words in str(err), str(err)
    assert "\n" not in str(err)


def test_a_tree_draws_each_leaf_by_its_own_generator(tmp_path: Path) -> None:
    def drawn(generator: str) -> list[dict[str, np.ndarray]]:
        spec = load_spec(write(tmp_path, VALUES_SPEC.replace("params: {dist: normal}",
                                                             generator, 1)))
        return [c.args["params"] for c in materialise(spec) if c.name.startswith("drawn")]

    one = drawn("params: {dist: normal}")
    # The same generator per leaf draws what one for all does: the same leaves, in order.
    assert all(np.array_equal(a[k], b[k]) for a, b in zip(
        one, drawn("params: {w: {dist: normal}, b: {dist: normal}}"), strict=True) for k in a)
    mixed = drawn("params: {w: {dist: uniform, low: 0.0, high: 0.5}, b: {value: 0}}")
    for p in mixed:
        assert p["w"].dtype == np.float32 and p["w"].shape == (2, 2)
        assert (p["w"] >= 0).all() and (p["w"] <= 0.5).all()
        assert p["b"].dtype == np.float32 and p["b"].tolist() == [0.0, 0.0]  # a number fills
    given = drawn("params: {w: {dist: normal}, b: {value: [1.0, -1.0]}}")
    assert all(p["b"].tolist() == [1.0, -1.0] for p in given)


def test_dim_expressions() -> None:
    assert symbols("T+1") == {"T"} and symbols("2*K - 1") == {"K"} and symbols(3) == set()
    assert evaluate("T+1", {"T": 4}) == 5 and evaluate("2*K", {"K": 3}) == 6
    for bad in ("T/2", "f(T)", "T.x", "1.5", "T+", "-"):
        with pytest.raises(DimError, match="write a dim as"):
            symbols(bad)
    with pytest.raises(DimError, match="negative"):
        evaluate("T-3", {"T": 1})


def test_schema_has_every_kind() -> None:
    text = json.dumps(ProblemSpec.model_json_schema())
    for word in ("TreeParam", "KeyParam", "BoolParam", "ChoiceParam", "TupleReturns",
                 "TreeReturns", "OutputTolerance", "binds", "per_output", "Leaves"):
        assert word in text, word
    # A generated test's argument: one generator, or (a tree) a mapping of them per leaf.
    generator = ProblemSpec.model_json_schema()["$defs"]["ArgGenerator"]["oneOf"]
    assert {"$ref": "#/$defs/ArgGenerator"} in [
        g.get("patternProperties", {}).get(r"^[A-Za-z_][A-Za-z0-9_]*$") for g in generator]


def test_a_return_too_large_to_report_is_a_spec_error(tmp_path: Path) -> None:
    dims = ", ".join(["H"] * 8)
    items = ", ".join(f"{{name: o{i}, dtype: float32, shape: [{dims}]}}" for i in range(30))
    text = VALUES_SPEC.replace(VALUES_SPEC[VALUES_SPEC.index("  returns:"):
                                          VALUES_SPEC.index("limits:")],
                               f"  returns: {{kind: tuple, items: [{items}]}}\n")
    text = text.replace("per_output: {value: {atol: 1.0e-4}}", "per_output: {}")
    with pytest.raises(SpecError, match="too many to report in one result") as info:
        load_spec(write(tmp_path, text))
    assert info.value.key == "function"


@pytest.mark.parametrize(("old", "new", "key", "got"), [
    ("reduction: sum}", "reduction: total}", "tests.worked_example_summed", "'total'"),
    ("reduction: mean}", "reduction: 1}", "tests.worked_example", "1"),
    ("reduction: {dist: pick}", "reduction: {value: Sum}", "generated.random", "'Sum'"),
])
def test_a_shipped_choice_refuses_a_value_not_among_its_values(
        tmp_path: Path, old: str, new: str, key: str, got: str) -> None:
    """ppo_clip_objective's `reduction: mean | sum`: a test or generator giving anything else
    (a misspelling, a number, another case) is a spec error naming the file, the test and the
    values it may take, before any reference runs; a good one reaches it as a plain str."""
    root = Path(__file__).resolve().parents[2]
    folder = tmp_path / "problems" / "ppo_clip_objective"
    folder.mkdir(parents=True)
    text = (root / "problems" / "ppo_clip_objective" / "problem.yaml").read_text()
    assert {type(c.args["reduction"]) for c in load_problem("ppo_clip_objective").tests} == {str}
    assert old in text
    (folder / "problem.yaml").write_text(text.replace(old, new, 1))
    with pytest.raises(SpecError) as info:
        load_problem("ppo_clip_objective", tmp_path).tests  # noqa: B018
    # The test's key path is in the message (SpecError.key stays empty for a test's arguments).
    assert info.value.path == str(folder / "problem.yaml")
    assert str(info.value) == (f"{folder / 'problem.yaml'}: {key}: expected one of ['mean', "
                               f"'sum'] for 'reduction', got {got}")
