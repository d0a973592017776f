"""The spec models accept the valid file and reject each kind of invalid one, naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.errors import SpecError
from grader.model.spec import DIFFICULTIES, ArrayParam, ProblemSpec, load_spec

DATA = Path(__file__).resolve().parent.parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def test_valid_spec_loads_with_defaults() -> None:
    spec = load_spec(DATA / "valid" / "tiny" / "problem.yaml")
    assert spec.id == "tiny"
    assert [p.name for p in spec.function.params] == ["seed", "count", "x", "m"]
    m = spec.function.param("m")
    assert isinstance(m, ArrayParam) and m.shape == [2, "K"] and m.dtype == "int32"
    assert spec.limits.memory_mb == 3072  # default applied
    assert spec.tolerance.scale is not None and spec.tolerance.scale.reduce == "max_abs"
    mean, spread = spec.statistics
    assert mean.kind == "mean_z" and mean.seed_param == "seed" and mean.variance is None
    assert spread.kind == "variance_ratio" and spread.max_ratio is None
    assert spec.diagnoses[0].example == "wrong_answer/slip.py"


# (case folder, key path the error must name, words the message must contain)
INVALID = [
    ("unknown_key", "titel", "unknown key"),
    ("bad_dtype", "function.params.3.dtype", "float32"),
    ("missing_tolerance", "tolerance", "Field required"),
    ("malformed_yaml", "line 5", "malformed YAML"),
    ("not_a_mapping", "", "mapping"),
    ("id_mismatch", "id", "folder"),
    ("test_missing_arg", "(top level)", "missing ['count']"),
    ("scale_without_factor", "tolerance", "together"),
    ("scale_unknown_arg", "(top level)", "'y' is no parameter"),
    ("duplicate_test_names", "(top level)", "repeat: ['explicit']"),
    ("negative_points", "tests.0.points", "greater than or equal to 0"),
    ("unbound_return_dim", "function", "['N']"),
    ("sizes_missing_dim", "(top level)", "lack ['K']"),
    ("unknown_distribution", "generated.0.args.x", "uniform | normal | int_range"),
    ("no_tests", "(top level)", "at least one"),
    ("stat_seed_in_args", "(top level)", "'seed' is the seed"),
    ("stat_unknown_kind", "statistics.0", "mean_z"),
    ("variance_without_bounds", "statistics.0", "min_ratio"),
    ("diagnosis_bad_path", "diagnoses.0.example", "should match pattern"),
    ("variance_against_and_exact", "statistics.1", "not both"),
    ("bad_difficulty", "difficulty", "'easy', 'medium' or 'hard'"),
    ("bad_tag", "tags", "'monte carlo' is no tag: use lower-case letters and digits, words joined"),
    ("duplicate_tags", "tags", "tags repeat"),
]


@pytest.mark.parametrize(("case", "key", "words"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_spec_names_file_key_and_fix(case: str, key: str, words: str) -> None:
    path = DATA / "invalid" / case / "tiny" / "problem.yaml"
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = info.value
    assert err.path == str(path)
    assert err.key.startswith(key), err.key
    assert words in str(err), str(err)
    assert "\n" not in str(err)  # one line for the CLI


def test_every_invalid_case_is_covered() -> None:
    on_disk = {p.name for p in (DATA / "invalid").iterdir()}
    assert on_disk == {c[0] for c in INVALID}


def test_missing_file_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(DATA / "nowhere" / "problem.yaml")


def test_json_schema_forbids_unknown_keys() -> None:
    schema = ProblemSpec.model_json_schema()
    assert schema["additionalProperties"] is False
    json.dumps(schema)  # serialisable for editors
    assert "Tolerance" in schema["$defs"]


def test_difficulty_and_tags_are_optional_and_in_the_schema() -> None:
    spec = load_spec(DATA / "valid" / "tiny" / "problem.yaml")
    assert spec.difficulty is None and spec.tags == []
    props = ProblemSpec.model_json_schema()["properties"]
    assert {"enum": list(DIFFICULTIES), "type": "string"} in props["difficulty"]["anyOf"]
    assert props["tags"]["items"] == {"type": "string"}


def test_every_shipped_problem_says_its_difficulty_and_tags() -> None:
    """Where a learner chooses a problem they see both: every shipped problem fills them in."""
    for path in sorted((ROOT / "problems").glob("*/problem.yaml")):
        spec = load_spec(path)
        assert spec.difficulty in DIFFICULTIES and spec.tags, path


def test_shipped_problems_all_load() -> None:
    specs = sorted((ROOT / "problems").glob("*/problem.yaml"))
    assert [load_spec(p).id for p in specs] == [
        "adam_step", "antithetic_reparam_grad", "bernoulli_score_grad", "control_variate_grad",
        "discounted_returns", "gae_advantages", "gumbel_max_sample", "gumbel_softmax_sample",
        "hvp_given", "iwae_bound", "log1pexp_vjp", "per_example_grads", "policy_gradient_rtg",
        "ppo_clip_objective", "rao_blackwell_reinforce", "reinforce_baseline_grad",
        "reinforce_grad", "reparam_grad", "score_vs_pathwise", "straight_through_gumbel"]
