"""Sequences (`tests: [{steps: ...}]`) in problems with `functions`: each step a test of its own
whose `$k` arguments are the reference's output of an earlier step, and every mistake in a
sequence refused with the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.model.problems import load_problem
from grader.model.sequences import materialise
from grader.model.spec import ProblemSpec
from tests.specs import edited_spec, refusal


def _load(tmp_path: Path, edit: Any) -> ProblemSpec:
    return edited_spec(tmp_path, "adam_step", edit)


def _steps(raw: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = next(
        t for t in raw["tests"] if t["name"] == "init_then_two_steps")["steps"]
    return steps


def _forward(raw: dict[str, Any]) -> None:
    _steps(raw)[1]["args"]["state"] = "$2.new_state"


def _itself(raw: dict[str, Any]) -> None:
    _steps(raw)[1]["args"]["state"] = "$1.new_state"


def _first_takes(raw: dict[str, Any]) -> None:
    _steps(raw)[0]["args"]["params"] = "$0"


def _no_such_item(raw: dict[str, Any]) -> None:
    _steps(raw)[2]["args"]["state"] = "$1.state"


def _whole_tuple(raw: dict[str, Any]) -> None:
    _steps(raw)[2]["args"]["state"] = "$1"


def _unknown_entry(raw: dict[str, Any]) -> None:
    _steps(raw)[0]["call"] = "adam_start"


def _step_args(raw: dict[str, Any]) -> None:
    del _steps(raw)[1]["args"]["eps"]


def _args_too(raw: dict[str, Any]) -> None:
    next(t for t in raw["tests"] if "steps" in t)["args"] = {}


def _call_too(raw: dict[str, Any]) -> None:
    next(t for t in raw["tests"] if "steps" in t)["call"] = "adam_step"


def _generated_steps(raw: dict[str, Any]) -> None:
    raw["generated"][0]["steps"] = _steps(raw)


def _one_function(raw: dict[str, Any]) -> None:
    raw["function"] = raw.pop("functions")[1]
    for t in raw["tests"] + raw["generated"]:
        t.pop("call", None)


STEP1 = "tests.7.steps.1 ('init_then_two_steps' step 1) args.state"
# (edit, key path the error names, words of the message)
REFUSED = [
    (_forward, "(top level)", f"{STEP1}: $2.new_state is the output of step 2, not an "
                              "earlier step: a step takes $0..$0"),
    (_itself, "(top level)", f"{STEP1}: $1.new_state is the output of step 1, not an earlier"),
    (_first_takes, "(top level)", "tests.7.steps.0 ('init_then_two_steps' step 0) args.params: "
                                  "$0: the first step has no earlier output to take"),
    (_no_such_item, "(top level)", "tests.7.steps.2 ('init_then_two_steps' step 2) args.state: "
                                   "$1.state names nothing of step 1's output (adam_step "
                                   "returns: $1.new_params, $1.new_params.b"),
    (_whole_tuple, "(top level)", "$1 names nothing of step 1's output"),
    (_unknown_entry, "(top level)", "tests.7.steps.0 ('init_then_two_steps' step 0): `call: "
                                    "adam_start` names no entry; one of ['adam_init', "
                                    "'adam_step']"),
    (_step_args, "(top level)", f"{STEP1[:-11]} args: missing ['eps']"),
    (_args_too, "tests.7", "give `args` (one call) or `steps` (a sequence of calls), exactly"),
    (_call_too, "tests.7", "a sequence names the entry of each step"),
    (_generated_steps, "generated.0", "`steps` (a sequence of calls) is for explicit `tests`"),
    (_one_function, "(top level)", "tests.7 ('init_then_two_steps'): `steps` (a sequence of "
                                   "calls) is for problems with `functions`"),
]


@pytest.mark.parametrize(("edit", "key", "words"), REFUSED, ids=[r[0].__name__ for r in REFUSED])
def test_a_mistake_in_a_sequence_names_file_key_and_fix(tmp_path: Path, edit: Any, key: str,
                                                         words: str) -> None:
    error = refusal(tmp_path, "adam_step", edit)
    assert error.key == key, str(error)
    assert words in str(error), str(error)


def test_each_step_is_a_test_taking_the_references_earlier_outputs() -> None:
    problem = load_problem("adam_step")
    steps = [c for c in problem.tests if c.name.startswith("init_then_two_steps.")]
    assert [(c.name, c.call, c.step) for c in steps] == [
        ("init_then_two_steps.step0", "adam_init", 0),
        ("init_then_two_steps.step1", "adam_step", 1),
        ("init_then_two_steps.step2", "adam_step", 2)]
    assert sum(c.points for c in steps) == pytest.approx(1.0)  # the sequence's points, shared
    ref = problem.reference_module
    state = ref.adam_init(steps[0].args["params"])
    new_params, new_state = ref.adam_step(**{**steps[1].args, "state": state})
    # $0 and $1.new_params / $1.new_state: the reference's outputs, as the declared dtypes.
    for leaf in ("m", "v"):
        np.testing.assert_array_equal(steps[1].args["state"][leaf]["w"], state[leaf]["w"])
        np.testing.assert_array_equal(steps[2].args["state"][leaf]["b"], new_state[leaf]["b"])
    assert steps[2].args["state"]["count"].dtype == np.int32
    assert int(steps[2].args["state"]["count"]) == 1
    np.testing.assert_array_equal(steps[2].args["params"]["w"], new_params["w"])
    assert steps[2].args["params"]["w"].dtype == np.float32
    # Without the reference, a sequence cannot be made: refused, never guessed.
    with pytest.raises(ValueError, match="a sequence's steps need the reference"):
        materialise(problem.spec)


def test_the_schema_offers_steps_on_explicit_tests_only() -> None:
    defs = ProblemSpec.model_json_schema()["$defs"]
    assert "steps" in defs["ExplicitTest"]["properties"]
    assert set(defs["Step"]["required"]) == {"call", "args"}
    assert "steps" not in defs["GeneratedTests"]["properties"]
