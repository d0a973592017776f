"""Tracks on the pages: the home page lists each track's problems in order with my progress
(each track linked to its own page), and a problem page links to its track's previous and next
problem (rel=prev / rel=next); a problem's hints one at a time, and points earned per test."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from grader.model.problems import load_problem
from grader.model.tracks import load_tracks
from grader.service.settings import Settings
from grader.service.store.models import Status, SubmissionRow
from grader.service.store.users import create_user
from grader.service.web.app import create_app
from grader.service.web.statements import render_statement


def test_home_lists_tracks_in_order_and_problem_pages_link_prev_and_next(
        tmp_path: Path) -> None:
    app = create_app(Settings(data=tmp_path, jobs=0))
    _, token, _ = create_user(app.state.db, "lea", "learner")
    tracks = load_tracks().tracks
    with TestClient(app) as http:
        home = http.get("/", headers={"Authorization": f"Bearer {token}"}).text
        linked = re.findall(r'<h2><a href="/tracks/([a-z0-9_]+)">([^<]+)</a> <span', home)
        assert linked == [(t.id, t.title) for t in tracks]
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


def _difficulty_and_tags(html: str) -> dict[str, tuple[str, list[str]]]:
    """Per problem row of a problems table: its difficulty cell and its tags."""
    rows = re.findall(r'<a href="/problems/([a-z0-9_]+)">.*?<td class="difficulty[^"]*">([^<]*)'
                      r'</td>\s*<td class="tags">(.*?)</td>', html, re.S)
    return {pid: (d, re.findall(r'<span class="tag">([^<]+)</span>', tags))
            for pid, d, tags in rows}


def test_home_and_track_pages_show_difficulty_and_tags(tmp_path: Path) -> None:
    app = create_app(Settings(data=tmp_path, jobs=0))
    track = load_tracks().tracks[0]
    with TestClient(app) as http:
        home = _difficulty_and_tags(http.get("/").text)
        page = _difficulty_and_tags(http.get(f"/tracks/{track.id}").text)
    want = {}
    for pid in track.problems:
        spec = load_problem(pid).spec
        assert spec.difficulty and spec.tags
        want[pid] = (spec.difficulty, spec.tags)
    assert page == want
    assert {pid: home[pid] for pid in track.problems} == want


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _hint_form(html: str) -> dict[str, str]:
    """The "Show a hint" form as the page sends it: its CSRF token and the hint it asks for."""
    found = re.search(r'name="hint" value="(\d+)"', html)
    assert found
    return {"csrf_token": _csrf(html), "hint": found.group(1)}


def _judged(app: FastAPI, user_id: int, problem: str, verdicts: list[str]) -> int:
    """A judged submission as the grader stores it: one test per verdict, 1 point each."""
    tests = [{"name": f"t{i}", "verdict": v, "visible": True, "points": 1.0, "message": "",
              "max_abs_diff": None} for i, v in enumerate(verdicts)]
    verdict = next((v for v in verdicts if v != "accepted"), "accepted")
    won = sum(v == "accepted" for v in verdicts)
    with app.state.db.session() as s:
        row = SubmissionRow(user_id=user_id, problem=problem, filename="a.py", source=b"x=1\n",
                            sha256="0" * 64, status=Status.DONE, verdict=verdict,
                            score=won / len(verdicts),
                            report={"problem": problem, "verdict": verdict,
                                    "score": won / len(verdicts), "tests": tests,
                                    "feedback": [], "output": ""})
        s.add(row)
        s.flush()
        return row.id


def test_track_page_hints_after_failures_and_on_request_and_points_earned(
        tmp_path: Path) -> None:
    """In a signed-in browser session (cookie and CSRF, as a page's forms work): the track page
    lists my progress; a problem's hints appear one per failed submission and one per "Show a
    hint"; a submission's rows say the points earned out of each test's."""
    app = create_app(Settings(data=tmp_path, jobs=0))
    user, _, password = create_user(app.state.db, "lea", "learner", password="lea-password-1")
    track = load_tracks().tracks[0]
    first, second = track.problems[:2]
    total = len(render_statement(load_problem(first).statement()).hints)
    assert total >= 2, f"{first}'s statement needs a Hints list of at least two"
    with TestClient(app) as http:
        login = http.get("/login").text
        assert http.post("/login", data={"name": "lea", "password": password,
                                         "csrf_token": _csrf(login)},
                         follow_redirects=False).status_code == 303
        page = http.get(f"/problems/{first}").text
        assert 'class="hint"' not in page and 'id="show-hint"' in page
        assert "<math" in page  # the statement's formulas, typeset on the server

        sid = _judged(app, user.id, first, ["accepted", "wrong_answer", "accepted"])
        page = http.get(f"/problems/{first}").text
        assert page.count('class="hint"') == 1  # after the first failure, the first hint
        sub = http.get(f"/submissions/{sid}").text
        assert re.findall(r'<td class="points">([^<]*)</td>', sub) == ["1 / 1", "0 / 1",
                                                                       "1 / 1"]
        assert '<td id="points">2 / 3</td>' in sub

        # "Show a hint": refused without the form's CSRF token, one more hint with it.
        assert http.post(f"/problems/{first}/hint", data={"hint": "2"}).status_code == 403
        assert http.get(f"/problems/{first}").text.count('class="hint"') == 1
        r = http.post(f"/problems/{first}/hint", data=_hint_form(page),
                      follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/problems/{first}#hints"
        assert http.get(f"/problems/{first}").text.count('class="hint"') == 2
        for _ in range(total + 1):  # asking past the last one shows no more
            page = http.get(f"/problems/{first}").text
            http.post(f"/problems/{first}/hint",
                      data=_hint_form(page) if 'name="hint"' in page else
                      {"csrf_token": _csrf(page), "hint": str(total + 1)})
        page = http.get(f"/problems/{first}").text
        assert page.count('class="hint"') == total and 'id="show-hint"' not in page

        _judged(app, user.id, second, ["accepted"])
        shown = http.get(f"/tracks/{track.id}").text
        assert track.title in shown
        rows = re.findall(r'<a href="/problems/([a-z0-9_]+)">.*?<td class="status[^"]*">'
                          r"([^<]+)</td>", shown, flags=re.S)
        assert rows == [(first, "tried"), (second, "solved"),
                        *[(p, "not tried") for p in track.problems[2:]]]
        assert http.get("/tracks/no_such_track").status_code == 404
    # Another account in the same browser does not inherit lea's hints.
    other, _, pw = create_user(app.state.db, "max", "learner", password="max-password-1")
    with TestClient(app) as http2:
        http2.cookies.update(http.cookies)
        login = http2.get("/login").text
        http2.post("/login", data={"name": "max", "password": pw, "csrf_token": _csrf(login)})
        _judged(app, other.id, first, ["wrong_answer"])
        assert http2.get(f"/problems/{first}").text.count('class="hint"') == 1


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
