"""Suite-wide hooks: markers for the costly resources a test uses (see tests/markers.py; the
markers are registered in pyproject.toml)."""

from __future__ import annotations

import pytest

from tests.markers import classify


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        callspec = getattr(item, "callspec", None)
        found = classify(getattr(item, "fixturenames", ()),
                         callspec.params if callspec is not None else {},
                         module.__name__ if module is not None else "")
        for name in sorted(found - {mark.name for mark in item.iter_markers()}):
            item.add_marker(name)
