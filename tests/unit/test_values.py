"""Values of issue 20 without a sandbox: the runner's flattening, the judge's parsing of a
structured result (hostile: counts, sizes, depth), per-leaf comparison and the new inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader.model.inputs import InputError, KeySeed, coerce
from grader.model.sequences import materialise
from grader.model.spec import ProblemSpec, load_spec
from grader.model.values import compare_output, structure
from grader.sandbox.frames import Frames, ProtocolError
from grader.sandbox.runner import Mismatch, flatten
from grader.verdict import Verdict
from tests.specs import VALUES_SPEC


@pytest.fixture
def spec(tmp_path: Path) -> ProblemSpec:
    path = tmp_path / "tree_step" / "problem.yaml"
    path.parent.mkdir()
    path.write_text(VALUES_SPEC)
    return load_spec(path)


def test_flatten_takes_tuples_lists_and_mappings_in_declared_order(spec: ProblemSpec) -> None:
    shape = structure(spec.function)
    assert shape is not None
    grads = {"b": np.ones(2, np.float32), "w": np.zeros((2, 2), np.float32)}
    leaves = flatten((np.float32(1.5), grads, np.zeros(3), np.zeros(2)), shape)
    assert [a.shape for a in leaves] == [(), (2, 2), (2,), (3,), (2,)]
    assert flatten([1.0, grads, np.zeros(3), np.zeros(2)], shape)[0].shape == ()


@pytest.mark.parametrize(("value", "words"), [
    (np.zeros(4), "expected a tuple (value, grads, per_sample, td); got one array"),
    ((1.0, {}), "expected a tuple (value, grads, per_sample, td) of 4 items; got a tuple of 2"),
    ((1.0, [1, 2], 0, 0), "grads: expected a dict with keys ['b', 'w']; got a list of 2 items"),
    ((1.0, {"w": 0}, 0, 0), "grads: expected a dict with keys ['b', 'w']; missing ['b']"),
    ((1.0, {"w": 0, "b": 0, "x" * 500: 0}, 0, 0), "unexpected ['" + "x" * 40 + "']"),
    ((1.0, {"w": (np.zeros(2), np.zeros(2)), "b": 0}, 0, 0),
     "grads.w: expected an array; got a tuple of 2 items"),
    ((None, {"w": 0, "b": 0}, 0, 0), "value: expected an array; got None"),
])
def test_flatten_never_stacks_and_names_what_was_expected(spec: ProblemSpec, value: object,
                                                          words: str) -> None:
    shape = structure(spec.function)
    assert shape is not None
    with pytest.raises(Mismatch) as info:
        flatten(value, shape)
    assert words in str(info.value)
    assert len(str(info.value)) < 500


def frame(header: dict[str, object], payload: bytes = b"") -> bytes:
    return json.dumps({**header, "nbytes": len(payload)}).encode() + b"\n" + payload


GOOD = {"event": "result", "test": 0, "leaves": 2, "dtypes": ["<f4", "<i4"], "ndims": [0, 1],
        "dims": [3]}


def parse(raw: bytes) -> object:
    frames = Frames(1 << 20)
    frames.feed(raw)
    return frames.next()


def test_a_structured_result_parses_into_its_leaves() -> None:
    event = parse(frame(GOOD, np.float32(2).tobytes() + np.arange(3, dtype=np.int32).tobytes()))
    assert event is not None and event.arrays is not None  # type: ignore[attr-defined]
    a, b = event.arrays  # type: ignore[attr-defined]
    assert a.shape == () and a == 2 and b.tolist() == [0, 1, 2]


@pytest.mark.parametrize("change", [
    {"leaves": 3}, {"leaves": 0}, {"leaves": 10_000}, {"dtypes": ["<f4", "|O"]},
    {"dtypes": ["<f4", 4]}, {"ndims": [0, 2]}, {"ndims": [0, 99]}, {"dims": [-3]},
    {"dims": [1 << 62]}, {"dims": [2]}, {"dims": "3"}, {"dtypes": ["<f4", "<U3"]},
])
def test_a_forged_structured_result_is_a_protocol_error(change: dict[str, object]) -> None:
    payload = np.float32(2).tobytes() + np.arange(3, dtype=np.int32).tobytes()
    with pytest.raises(ProtocolError):
        parse(frame({**GOOD, **change}, payload))


def test_nested_dims_are_refused_before_json() -> None:
    with pytest.raises(ProtocolError, match="nested"):
        parse(frame({**GOOD, "dims": [[3]]}, b"\0" * 16))


def test_compare_names_the_leaf_and_uses_per_output(spec: ProblemSpec) -> None:
    fn = spec.function
    want: dict[str, np.ndarray] = {
        "value": np.asarray(1.0, np.float32), "grads.w": np.zeros((2, 2), np.float32),
        "grads.b": np.ones(2, np.float32), "per_sample": np.ones(3, np.float32),
            "td": np.ones(2, np.float32)}
    got = dict(want, value=np.asarray(1.00005, np.float32))  # within per_output atol 1e-4
    assert compare_output(got, want, fn, spec.tolerance, {}).verdict == Verdict.ACCEPTED
    got = dict(want, **{"grads.b": 2 * want["grads.b"]})
    c = compare_output(got, want, fn, spec.tolerance, {})
    assert c.verdict == Verdict.WRONG_ANSWER and c.message.startswith("grads.b: max abs diff")
    assert c.summary == "grads.b: outside the tolerance"
    got = dict(want, **{"grads.w": want["grads.w"].astype(np.float16)})
    c = compare_output(got, want, fn, spec.tolerance, {})
    assert "grads.w: returned dtype float16, expected float32" in c.message


def test_new_kinds_coerce_strictly(spec: ProblemSpec) -> None:
    p = {q.name: q for q in spec.function.params}
    assert coerce(p["key"], 5) == 5 and isinstance(coerce(p["key"], 5), KeySeed)
    assert coerce(p["hard"], True) is True and coerce(p["reduction"], "sum") == "sum"
    for name, bad in [("key", -1), ("key", 1.5), ("key", True), ("hard", 1),
                      ("reduction", "avg"), ("params", [1.0]),
                      ("params", {"w": [[1.0]], "b": [1.0], "c": [0.0]})]:
        with pytest.raises(InputError):
            coerce(p[name], bad)


def test_generated_values_of_every_kind(spec: ProblemSpec) -> None:
    cases = materialise(spec)
    drawn = [c for c in cases if c.name.startswith("drawn")]
    assert len(drawn) == 2
    for c in drawn:
        assert isinstance(c.args["key"], KeySeed) and type(c.args["hard"]) is bool
        assert c.args["reduction"] in ("mean", "sum") and c.args["values"].shape == (3,)
        assert c.args["params"]["w"].dtype == np.float32


def test_sum_to_a_target_along_an_axis_and_nonnegativity(spec: ProblemSpec) -> None:
    from grader.judging.statistics import _nonnegative, _sum_zero
    from grader.model.checks import NonNegativeCheck, SumCheck

    args = {"params": {"w": [[1.0, 0.0], [0.0, 1.0]], "b": [0.0, 0.0]}, "hard": False,
            "reduction": "mean", "n": 3, "values": [0.0, 0.0, 0.0], "rewards": [0.0, 0.0]}
    rows = np.random.default_rng(0).dirichlet([1.0] * 3, size=(20, 2))  # 20 seeds, 2 rows
    probs = SumCheck(name="p", kind="invariant_sum", target=1.0, axis=-1, atol=1e-6,
                     seed_param="key", seeds=20, args=args)
    assert _sum_zero(probs, rows, spec)[0] == Verdict.ACCEPTED
    verdict, text = _sum_zero(probs, rows * 1.1, spec)
    assert verdict == Verdict.WRONG_ANSWER and "sum to 1" in text
    assert _sum_zero(probs.model_copy(update={"axis": 5}), rows, spec)[0] \
        == Verdict.WRONG_ANSWER
    nonneg = NonNegativeCheck(name="q", kind="invariant_nonnegative", seed_param="key",
                              seeds=20, args=args)
    assert _nonnegative(nonneg, rows)[0] == Verdict.ACCEPTED
    verdict, text = _nonnegative(nonneg, rows - 0.5)
    assert verdict == Verdict.WRONG_ANSWER and "never negative" in text
