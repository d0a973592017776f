"""A report keeps of an array only what a person reads, a stored report fits its cap with its
verdicts and score, and lists never load the sources and reports they do not show."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import event

from grader.judging.judge import _held
from grader.model.report import (
    MAX_SHOWN,
    SUMMARY_HEAD,
    Report,
    TestResult,
    fit,
    json_bytes,
    plain,
    redact,
    render,
    value_text,
)
from grader.service.settings import Settings
from grader.service.store.models import Status, SubmissionRow
from grader.service.store.users import create_user
from grader.service.web.app import create_app
from grader.verdict import Verdict

BIG = 2_000_000
REPORT = {"verdict": "accepted", "score": 1.0, "tests": []}


def test_a_small_array_is_kept_whole_and_a_large_one_is_summed_up() -> None:
    assert plain(np.arange(MAX_SHOWN, dtype=np.int32)) == list(range(MAX_SHOWN))
    out = plain(np.ones((BIG // 4, 4), np.float32))
    assert out == {"truncated": True, "shape": [BIG // 4, 4], "dtype": "float32", "size": BIG,
                   "head": [1.0] * MAX_SHOWN}
    wide = plain(np.ones(BIG, np.longdouble))  # JSON has no long double
    assert json.loads(json.dumps(wide))["dtype"] == "float128"
    assert plain(3.5) == 3.5


def failing(**shown: Any) -> TestResult:
    return TestResult("t", Verdict.WRONG_ANSWER, True, 1.0, "wrong", shown=shown)


def test_a_wrong_shape_is_a_summary_and_no_array_shows_more_than_a_thousand_values() -> None:
    small = {"logits": np.zeros(3, np.float32), "n_samples": 1000.0}
    got = failing(args=small, expected=np.ones(3, np.float32),
                  got=np.zeros(BIG, np.float32)).to_dict()["shown"]["got"]
    assert (got["truncated"], got["size"], got["shape"], len(got["head"])) == \
        (True, BIG, [BIG], SUMMARY_HEAD)
    big = np.random.default_rng(0).normal(size=BIG).astype(np.float32)  # same shape, wrong
    test = failing(args={"logits": big, "reward_table": big}, expected=big, got=big + 1)
    shown = test.to_dict()["shown"]
    arrays = [*shown["args"].values(), shown["expected"], shown["got"]]
    assert all(a["truncated"] and a["size"] == BIG and len(a["head"]) == MAX_SHOWN
               for a in arrays)
    assert json_bytes(test.to_dict()) < 120_000


def report_of(tests: list[TestResult], output: str = "") -> dict[str, Any]:
    return Report("reinforce_grad", "s.py", tests, ["a hint"], {}, 1.0, output).to_dict(True)


def test_a_report_over_the_cap_keeps_every_verdict_and_the_score() -> None:
    big = np.zeros(BIG, np.float32)
    tests = [failing(args={"x": big}, expected=big, got=big + 1) for _ in range(20)]
    tests.append(TestResult("fine", Verdict.ACCEPTED, False, 2.0))
    full = report_of(tests, output="x" * 30_000)
    assert fit(full, 10**9) is full
    for cap in (100_000, 20_000, 1):
        small = fit(full, cap)
        assert (small["verdict"], small["score"], small["truncated"], small["size"]) == \
            (full["verdict"], full["score"], True, json_bytes(full))
        assert [(t["name"], t["verdict"], t["points"], t["visible"]) for t in small["tests"]] == \
            [(t["name"], t["verdict"], t["points"], t["visible"]) for t in full["tests"]]
        assert cap == 1 or json_bytes(small) <= cap
        assert all("shown" not in t for t in small["tests"])
        text = io.StringIO()
        render(redact(small), Console(file=text, width=100))  # readers still read it
        assert "wrong_answer" in text.getvalue()


def test_the_text_report_names_a_truncated_array() -> None:
    text = value_text(plain(np.zeros(BIG, np.float32)))
    assert text.startswith("array of shape (2000000,) float32, 2000000 values (truncated")


def test_a_check_result_of_the_wrong_shape_is_held_without_its_data() -> None:
    kept = np.zeros(2, np.float32)
    assert _held(kept, (2,)) is kept
    held = _held(np.zeros(BIG, np.float32), (2,))
    assert held.shape == (BIG,) and held.dtype == np.float32 and held.strides == (0,)


def test_lists_and_streams_load_no_source_and_no_report(tmp_path: Path) -> None:
    app = create_app(Settings(data=tmp_path, jobs=0))
    db = app.state.db
    learner, token, _ = create_user(db, "lea", "learner")
    _, staff_token, _ = create_user(db, "ines", "instructor")
    with db.session() as s:
        sub = SubmissionRow(user_id=learner.id, problem="reinforce_grad", filename="f.py",
                         source=b"x = 1\n" * 1000, sha256="0" * 64, status=Status.DONE,
                         verdict="accepted", score=1.0, report=REPORT)
        s.add(sub)
        s.flush()
        sid = sub.id
    selects: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    lists = {token: ["/api/v1/submissions", "/submissions", "/problems/reinforce_grad",
                     f"/api/v1/submissions/{sid}/events"],
             staff_token: ["/api/v1/problems/reinforce_grad/submissions", "/instructor",
                           "/api/v1/gradebook", "/api/v1/gradebook.csv", "/instructor/gradebook"]}
    with TestClient(app) as http:
        for who, paths in lists.items():
            for path in paths:
                selects.clear()
                r = http.get(path, headers={"Authorization": f"Bearer {who}"})
                assert r.status_code == 200, (path, r.text[:300])
                assert any("submissions" in q for q in selects), path
                loaded = [q for q in selects
                          if "submissions.source" in q or "submissions.report" in q]
                if path.endswith("/events"):  # a finished grade's hidden results, read once
                    assert len(loaded) <= 1 and "submissions.source" not in "".join(loaded), \
                        (path, loaded)
                    continue
                assert loaded == [], (path, loaded)
        selects.clear()  # the one answer that shows them still has them
        body = http.get(f"/api/v1/submissions/{sid}",
                        headers={"Authorization": f"Bearer {token}"}).json()
        assert body["source"].startswith("x = 1") and body["report"] == REPORT


def test_what_a_cut_leaves_a_learner_never_depends_on_the_hidden_tests_data() -> None:
    """The hidden part is cut first: two reports alike but for what the code returned on
    hidden inputs (values, messages, printing) give the learner the same view at any cap, so
    whether visible values survive the cap cannot carry a hidden input out."""
    visible = failing(args={"x": np.zeros(300, np.float32)}, expected=np.zeros(300, np.float32),
                      got=np.ones(300, np.float32))

    def with_hidden(n: int) -> dict[str, Any]:
        wide = np.full(n, 7.0, np.float32)
        hidden = TestResult("h", Verdict.WRONG_ANSWER, False, 1.0, message="x" * n,
                            max_abs_diff=float(n), summary="y" * n,
                            shown={"expected": plain(wide), "got": plain(wide + 1)})
        full = report_of([visible, hidden], output="printed before any hidden input")
        full["hidden_output"] = "z" * n
        return full

    quiet, loud = with_hidden(1), with_hidden(50_000)
    cap = json_bytes(quiet) + 100  # the quiet one fits whole; the loud one does not
    assert "truncated" not in fit(quiet, cap) and fit(loud, cap)["truncated"]
    assert redact(fit(quiet, cap)) == redact(fit(loud, cap))
    assert "shown" in fit(loud, cap)["tests"][0]  # the visible values were kept
    for smaller in (cap // 2, 1):
        assert redact(fit(quiet, smaller)) == redact(fit(loud, smaller))
