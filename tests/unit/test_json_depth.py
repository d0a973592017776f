"""The JSON depth bound checked before parsing: exact on valid JSON, strings and escapes
skipped, and fast on hostile bodies (no Python loop over the bytes)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from grader.service.errors import BadRequest
from grader.service.web.intake import MAX_JSON_DEPTH, json_depth, parse_json

PIECES = ["[", "]", "{", "}", '"', "\\", "\\\\", '\\"', "a", "\u00e9", ":", ",", "\n", "\u005b"]


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def random_value(rnd: random.Random, level: int = 0) -> Any:
    roll = rnd.random()
    if level > 6 or roll < 0.3:
        if rnd.random() < 0.6:
            return "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 8)))
        return rnd.choice([1, None, True, 2.5])
    if roll < 0.65:
        return [random_value(rnd, level + 1) for _ in range(rnd.randint(0, 4))]
    return {"".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 4))):
            random_value(rnd, level + 1) for _ in range(rnd.randint(0, 4))}


def test_the_depth_is_exact_on_valid_json_whatever_its_strings_hold() -> None:
    rnd = random.Random(7)
    for _ in range(1000):
        value = random_value(rnd)
        for ascii_only in (True, False):
            text = json.dumps(value, ensure_ascii=ascii_only).encode()
            assert json_depth(text) == depth(value), text


@pytest.mark.parametrize("body", [b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 40_000,
                                  b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)])
def test_json_nested_too_deep_is_a_400_before_parsing(body: bytes) -> None:
    with pytest.raises(BadRequest, match="nested"):
        parse_json(body)


def test_brackets_inside_a_string_do_not_count() -> None:
    source = "[" * 10_000 + '\\"' + "{" * 10_000
    assert parse_json(json.dumps({"source": source}).encode()) == {"source": source}
