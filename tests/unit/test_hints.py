"""Hints asked for ("Show a hint") are recorded in the database for instructors: once per hint
(a double click or a replayed form records nothing more), the same in every browser of the
learner's, and listed per learner and problem in the instructors' API, pages and gradebook."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from fastapi.testclient import TestClient

from grader.model.problems import load_problem
from grader.model.tracks import load_tracks
from grader.service.settings import Settings
from grader.service.store import hints
from grader.service.store.models import HintTaken, Status, SubmissionRow
from grader.service.store.users import create_user
from grader.service.web.app import create_app
from grader.service.web.statements import render_statement


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _signed_in(http: TestClient, name: str, password: str) -> None:
    login = http.get("/login").text
    assert http.post("/login", data={"name": name, "password": password,
                                     "csrf_token": _csrf(login)},
                     follow_redirects=False).status_code == 303


def _shown(http: TestClient, problem: str) -> tuple[int, str]:
    """How many hints the problem's page shows, and the page."""
    page = http.get(f"/problems/{problem}").text
    return page.count('class="hint"'), page


def test_hints_asked_for_are_recorded_once_kept_across_browsers_and_shown_to_instructors(
        tmp_path: Path) -> None:
    app = create_app(Settings(data=tmp_path, jobs=0))
    db = app.state.db
    lea, lea_token, pw = create_user(db, "lea", "learner", password="lea-password-1")
    _, max_token, _ = create_user(db, "max", "learner")
    _, ines_token, _ = create_user(db, "ines", "instructor")
    problem = load_tracks().tracks[0].problems[0]  # test_track_pages's: its examples cached
    assert len(render_statement(load_problem(problem).statement()).hints) >= 2
    with TestClient(app) as http:
        _signed_in(http, "lea", pw)
        shown, page = _shown(http, problem)
        assert shown == 0 and 'name="hint" value="1"' in page
        form = {"csrf_token": _csrf(page), "hint": "1"}
        # Asking past the next hint records nothing; a hint that is not a number is refused.
        http.post(f"/problems/{problem}/hint", data={**form, "hint": "2"})
        assert http.post(f"/problems/{problem}/hint",
                         data={**form, "hint": "x"}).status_code == 422
        assert _shown(http, problem)[0] == 0
        for _ in range(3):  # a double click, then the form replayed: hint 1, once
            assert http.post(f"/problems/{problem}/hint", data=form,
                             follow_redirects=False).status_code == 303
        assert _shown(http, problem)[0] == 1
        http.post(f"/problems/{problem}/hint", data={**form, "hint": "2"})
        assert _shown(http, problem)[0] == 2
    with db.session() as s:
        assert sorted(r.number for r in s.query(HintTaken).filter_by(user_id=lea.id)) == [1, 2]
    with TestClient(app) as api:
        # Another client, none of the first one's cookies: lea's hints are still taken.
        mine = api.get(f"/problems/{problem}", headers={"Authorization": f"Bearer {lea_token}"})
        assert mine.text.count('class="hint"') == 2

        url = f"/api/v1/problems/{problem}/hints"
        for token in (lea_token, max_token):  # learners never read anyone's record
            assert api.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 403
        staff = {"Authorization": f"Bearer {ines_token}"}
        [row] = api.get(url, headers=staff).json()
        assert (row["user"], row["problem"], row["hints"]) == ("lea", problem, [1, 2])
        assert row["last"].endswith(("Z", "+00:00"))
        assert api.get("/api/v1/problems/no_such_problem/hints", headers=staff).status_code == 404
        assert url.replace(problem, "{problem_id}") in api.get("/openapi.json").json()["paths"]

        with db.session() as s:  # a graded submission puts lea in the gradebook
            s.add(SubmissionRow(user_id=lea.id, problem=problem, filename="a.py", source=b"x",
                                sha256="0" * 64, status=Status.DONE, verdict="accepted",
                                score=1.0, report={}))
        [book] = api.get("/api/v1/gradebook", headers=staff).json()
        assert (book["user"], book["hints"]) == ("lea", 2)
        csv = api.get("/api/v1/gradebook.csv", headers=staff).text.splitlines()
        assert csv == ["user,problem,best_score,submissions,accepted,hints",
                       f"lea,{problem},1.0000,1,True,2"]
        overview = api.get("/instructor", headers=staff).text
        table = re.search(rf'<table class="list hints-taken" id="hints-{problem}">(.*?)</table>',
                          overview, re.S)
        assert table and re.search(r'<td class="user">lea</td><td class="hints">2 \(#1, #2\)',
                                   table.group(1))
        assert "2 hints" in api.get("/instructor/gradebook", headers=staff).text


def test_the_same_hint_asked_for_at_once_is_recorded_once(tmp_path: Path) -> None:
    app = create_app(Settings(data=tmp_path, jobs=0))
    lea, _, _ = create_user(app.state.db, "lea", "learner")
    start = threading.Barrier(4)
    won: list[bool] = []

    def ask() -> None:
        start.wait(timeout=30)
        won.append(hints.take(app.state.db, lea, "p", 1))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(won) == [False, False, False, True]
    assert hints.taken(app.state.db, lea, "p") == [1]
