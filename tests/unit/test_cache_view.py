"""A jail's view of the compile cache: the judge links only the recorded entries of the phases it
names, never a path, and a cache with no record serves nothing."""

from __future__ import annotations

import json
from pathlib import Path

from grader.sandbox import cache_view
from grader.sandbox.cache_view import HIDDEN, VISIBLE, CacheView


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "xla"
    store.mkdir()
    for name in ("jit_a-1-cache", "jit_b-2-cache", "jit_c-3-cache"):
        (store / name).write_bytes(name.encode())
    cache_view.write_manifest(store, "p", {VISIBLE: ["jit_a-1-cache"],
                                           HIDDEN: ["jit_b-2-cache", "jit_gone-9-cache"]})
    return store


def test_each_moment_links_its_phases_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    staging = tmp_path / "staging"
    staging.mkdir()
    view = cache_view.make(staging)
    assert view.stat().st_mode & 0o777 == cache_view.VIEW_MODE
    grade = CacheView("p")
    cache_view.link_moment(store, view, grade, released=False)
    assert sorted(p.name for p in view.iterdir()) == ["jit_a-1-cache"]
    cache_view.link_moment(store, view, grade, released=True)  # a missing entry is skipped
    assert sorted(p.name for p in view.iterdir()) == ["jit_a-1-cache", "jit_b-2-cache"]
    assert (view / "jit_b-2-cache").read_bytes() == b"jit_b-2-cache"
    # A Run's view never gets the hidden entries; nothing happens without a store or a view.
    (tmp_path / "other").mkdir()
    run_view = cache_view.make(tmp_path / "other")
    cache_view.link_moment(store, run_view, CacheView("p", (VISIBLE,), ()), released=True)
    assert list(run_view.iterdir()) == []
    cache_view.link_moment(None, run_view, grade, released=False)
    assert list(run_view.iterdir()) == []


def test_a_record_names_entries_never_paths(tmp_path: Path) -> None:
    store = _store(tmp_path)
    (tmp_path / "secret").write_text("x")
    cache_view.manifest_path(store, "p").write_text(json.dumps(
        {VISIBLE: ["../secret", "/etc/passwd", "jit_a-1-cache", 7, "jit_c-3-cache.json"]}))
    assert cache_view.entries(store, "p", [VISIBLE]) == ["jit_a-1-cache"]
    assert cache_view.entries(store, "../p", [VISIBLE]) == []
    assert cache_view.entries(store, "unwarmed", [VISIBLE, HIDDEN]) == []
    cache_view.manifest_path(store, "p").write_text("{not json")
    assert cache_view.entries(store, "p", [VISIBLE]) == []
