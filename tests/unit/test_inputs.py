"""Input materialisation: exact dtypes, Python scalars, seeded generators, consistent dims."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.errors import SpecError
from grader.model.inputs import bind_dims, expected_shape
from grader.model.problems import Problem
from grader.model.sequences import materialise
from grader.model.spec import load_spec

DATA = Path(__file__).resolve().parent.parent / "data"


def tiny() -> Problem:
    return Problem(DATA / "valid", load_spec(DATA / "valid" / "tiny" / "problem.yaml"))


def test_explicit_args_get_declared_types() -> None:
    case = tiny().tests[0]
    assert case.name == "explicit" and case.visible
    assert type(case.args["seed"]) is float and case.args["seed"] == 3.0
    assert type(case.args["count"]) is int and case.args["count"] == 2
    x, m = case.args["x"], case.args["m"]
    assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape == (3,)
    assert isinstance(m, np.ndarray) and m.dtype == np.int32 and m.shape == (2, 3)


def test_generated_args_types_sizes_and_determinism() -> None:
    cases = tiny().tests[1:]
    again = materialise(tiny().spec)[1:]
    assert [c.name for c in cases] == ["gen_0", "gen_1", "gen_2", "gen_3"]
    for c, d in zip(cases, again, strict=True):
        assert c.key() == d.key()  # same seed, same inputs
        assert type(c.args["seed"]) is float and c.args["seed"].is_integer()
        assert c.args["count"] == 3 and type(c.args["count"]) is int
        x, m = c.args["x"], c.args["m"]
        assert isinstance(x, np.ndarray) and isinstance(m, np.ndarray)
        assert x.dtype == np.float32 and m.dtype == np.int32
        assert x.shape[0] in (5, 9) and m.shape == (2, x.shape[0])
        assert m.min() >= -4 and m.max() < 4
        assert not c.visible
    assert len({c.key() for c in cases}) == len(cases)


def test_dims_bind_to_return_shape() -> None:
    p = tiny()
    case = p.tests[0]
    dims = bind_dims(p.spec.function, case.args)
    assert dims == {"K": 3}
    assert expected_shape(p.spec.function, dims) == (2, 3)


def test_inconsistent_dims_name_the_test() -> None:
    p = Problem(DATA / "inputs", load_spec(DATA / "inputs" / "tiny" / "problem.yaml"))
    with pytest.raises(SpecError, match=r"tests\.explicit: dim K is 2 elsewhere but 3 in 'm'"):
        _ = p.tests


def test_non_integer_int_param_rejected() -> None:
    from grader.model.inputs import InputError, coerce
    from grader.model.spec import ScalarParam

    with pytest.raises(InputError, match="integer"):
        coerce(ScalarParam(name="n", kind="int"), 2.5)
    with pytest.raises(InputError, match="number"):
        coerce(ScalarParam(name="n", kind="float"), True)
