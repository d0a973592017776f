"""Several entry points (`functions:`): each test names the one it calls, and every mistake in
that is refused with the file, the key and the fix; `function:` problems are unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.model.problems import load_problem, signature
from grader.model.sequences import materialise
from grader.model.spec import ProblemSpec
from tests.specs import edited_spec, refusal


def _load(tmp_path: Path, edit: Any) -> ProblemSpec:
    return edited_spec(tmp_path, "score_vs_pathwise", edit)


def test_each_test_calls_the_entry_it_names() -> None:
    problem = load_problem("score_vs_pathwise")
    calls = {c.name: c.call for c in materialise(problem.spec)}
    assert calls["worked_example_score"] == "score_grad"
    assert calls["drawn_b_1"] == "pathwise_grad"
    assert [f.name for f in problem.spec.entries] == ["score_grad", "pathwise_grad"]
    assert problem.spec.function.name == "score_grad"  # the first: older callers keep working
    assert signature(problem).splitlines()[1].startswith("pathwise_grad(seed: float, mu: ")


def _drop_call(raw: dict[str, Any]) -> None:
    del raw["tests"][1]["call"]


def _misspell(raw: dict[str, Any]) -> None:
    raw["statistics"][0]["call"] = "score_grd"


def _both(raw: dict[str, Any]) -> None:
    raw["function"] = raw["functions"][0]


def _only_function(raw: dict[str, Any]) -> None:
    raw["function"] = raw.pop("functions")[0]


def _wrong_args(raw: dict[str, Any]) -> None:
    raw["functions"][1]["params"] = raw["functions"][1]["params"][:3]


def _tuple_return(raw: dict[str, Any]) -> None:
    raw["functions"][1]["returns"] = {"kind": "tuple", "items": [
        {"name": "g", "dtype": "float32", "shape": ["D"]}]}


def _check_without_call(raw: dict[str, Any]) -> None:
    raw["function_checks"] = [{"name": "jitted", "transform": "jit"}]


def _check_on_a_test_of_another_entry(raw: dict[str, Any]) -> None:
    raw["function_checks"] = [{"name": "jitted", "transform": "jit", "call": "pathwise_grad",
                               "tests": ["worked_example_score"]}]


def _same_name(raw: dict[str, Any]) -> None:
    raw["functions"][1]["name"] = "score_grad"


def _unknown_key(raw: dict[str, Any]) -> None:
    raw["tests"][0]["calls"] = "score_grad"


# (edit, key path the error names, words of the message)
REFUSED = [
    (_drop_call, "(top level)", "tests.1 ('worked_example_pathwise'): `call: None` names no "
                                "entry; say which it calls, one of ['score_grad', "
                                "'pathwise_grad']"),
    (_misspell, "(top level)", "statistics.0 ('score_unbiased'): `call: score_grd`"),
    (_both, "(top level)", "give `function` (one entry) or `functions` (several), exactly one"),
    (_only_function, "(top level)", "`call` is for problems with `functions`; remove it"),
    (_wrong_args, "(top level)", "functions 'pathwise_grad': test 'worked_example_pathwise' "
                                 "args: unknown ['n_samples']"),
    # A tuple return is an entry's own (lifted): its checks then name the leaf they judge.
    (_tuple_return, "(top level)", "functions 'pathwise_grad': statistics 'pathwise_unbiased': "
                                   "the return is a tuple or tree; say which leaf"),
    (_same_name, "(top level)", "functions names repeat"),
    (_check_without_call, "(top level)", "function_checks 'jitted': `call: None` names no "
                                         "entry; say which it judges, one of ['score_grad', "
                                         "'pathwise_grad']"),
    (_check_on_a_test_of_another_entry, "(top level)", "function_checks 'jitted' tests: "
                                                       "'worked_example_score' is no test of "
                                                       "'pathwise_grad'"),
    (_unknown_key, "tests.0.calls", "unknown key"),
]


@pytest.mark.parametrize(("edit", "key", "words"), REFUSED, ids=[r[0].__name__ for r in REFUSED])
def test_a_mistake_in_the_entries_names_file_key_and_fix(tmp_path: Path, edit: Any, key: str,
                                                          words: str) -> None:
    error = refusal(tmp_path, "score_vs_pathwise", edit)
    assert error.key == key
    assert words in str(error), str(error)


def test_the_schema_asks_for_function_or_functions_and_a_call_per_test() -> None:
    schema = ProblemSpec.model_json_schema()
    assert schema["oneOf"] == [{"required": ["function"]}, {"required": ["functions"]}]
    for model in ("ExplicitTest", "GeneratedTests", "MeanCheck", "VarianceCheck"):
        assert "call" in schema["$defs"][model]["properties"], model
