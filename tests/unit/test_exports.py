"""Gradebook exports from report dicts (the JSON contract), checked field by field."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from grader.batch.exports import gradescope, slug, write_csv, write_gradescope, write_junit


def _report(name: str, verdicts: list[str], points: float = 1.0) -> dict[str, Any]:
    tests = [{"name": f"t{i}", "verdict": v, "visible": i == 0, "points": points,
              "max_abs_diff": None, "max_rel_diff": None, "message": "" if v == "accepted"
              else f"why {i}"} for i, v in enumerate(verdicts)]
    won = sum(points for v in verdicts if v == "accepted")
    first_bad = next((v for v in verdicts if v != "accepted"), "accepted")
    return {"problem": "p", "submission": name, "verdict": first_bad,
            "score": won / (points * len(verdicts)), "tests": tests, "feedback": ["hint"],
            "environment": {}, "duration_s": 1.5}


REPORTS = [_report("a/x.py", ["accepted", "accepted"]),
           _report("b/x.py", ["accepted", "wrong_answer"], points=2.0)]


def test_csv_has_one_column_per_test(tmp_path: Path) -> None:
    write_csv(REPORTS, tmp_path / "g.csv")
    rows = list(csv.reader((tmp_path / "g.csv").open()))
    assert rows[0] == ["submission", "verdict", "score", "t0", "t1"]
    assert rows[2] == ["b/x.py", "wrong_answer", "0.5000", "accepted", "wrong_answer"]


def test_gradescope_scores_points_and_hides_hidden_tests_until_published() -> None:
    gs = gradescope(REPORTS[1])
    assert gs["score"] == 2.0 and gs["max_score"] == 4.0
    assert [t["status"] for t in gs["tests"]] == ["passed", "failed"]
    assert [t["visibility"] for t in gs["tests"]] == ["visible", "after_published"]
    assert gs["tests"][1]["output"] == "wrong_answer: why 1"
    assert "hint" in gs["output"]


def test_gradescope_folders_are_distinct_per_submission(tmp_path: Path) -> None:
    write_gradescope(REPORTS, tmp_path)
    assert {p.parent.name for p in tmp_path.glob("*/results.json")} == {"a_x.py", "b_x.py"}
    assert json.loads((tmp_path / slug("b/x.py") / "results.json").read_text())["score"] == 2.0


def test_junit_fails_exactly_the_failed_tests(tmp_path: Path) -> None:
    write_junit(REPORTS, tmp_path / "j.xml")
    suites = ET.parse(tmp_path / "j.xml").getroot().findall("testsuite")
    assert [s.get("failures") for s in suites] == ["0", "1"]
    failure = suites[1].findall("testcase")[1].find("failure")
    assert failure is not None and failure.get("type") == "wrong_answer"
    assert failure.text == "why 1"
