"""Tracks on the pages: the home page lists each track's problems in order with my progress,
and a problem page links to its track's previous and next problem (rel=prev / rel=next)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from grader.model.tracks import load_tracks
from grader.service.settings import Settings
from grader.service.store.users import create_user
from grader.service.web.app import create_app


def test_home_lists_tracks_in_order_and_problem_pages_link_prev_and_next(
        tmp_path: Path) -> None:
    app = create_app(Settings(data=tmp_path, jobs=0))
    _, token, _ = create_user(app.state.db, "lea", "learner")
    tracks = load_tracks().tracks
    with TestClient(app) as http:
        home = http.get("/", headers={"Authorization": f"Bearer {token}"}).text
        titles = re.findall(r"<h2>([^<]+?) <span", home)
        assert titles == [t.title for t in tracks]
        assert f"(0 of {len(tracks[0].problems)} solved)" in home
        listed = re.findall(r'<a href="/problems/([a-z0-9_]+)">', home)
        assert listed == [p for t in tracks for p in t.problems]
        first, second = tracks[0].problems[:2]
        page = http.get(f"/problems/{second}").text
        assert f'<a rel="prev" href="/problems/{first}">' in page
        if len(tracks[0].problems) > 2:
            assert f'<a rel="next" href="/problems/{tracks[0].problems[2]}">' in page
        start = http.get(f"/problems/{first}").text
        assert 'rel="prev"' not in start and f'rel="next" href="/problems/{second}"' in start


def test_a_problem_page_shows_its_given_functions(tmp_path: Path) -> None:
    """given.py is course material: readable signed out, in a <pre> under "Given functions";
    a problem without one has no such heading."""
    app = create_app(Settings(data=tmp_path, jobs=0))
    with TestClient(app) as http:
        page = http.get("/problems/hvp_given").text
        given = re.search(r'<h2>Given functions</h2>.*?<pre class="code" id="given">(.*?)</pre>',
                          page, re.S)
        assert given is not None
        assert "def rosenbrock(x):" in given.group(1)
        assert "Given functions</h2>" not in http.get("/problems/per_example_grads").text
