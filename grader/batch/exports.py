"""Gradebook exports of many reports (their JSON dicts): CSV, Gradescope results.json, JUnit XML."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

Report = dict[str, Any]  # Report.to_dict(), the DESIGN.md JSON contract


def write_csv(reports: list[Report], path: Path) -> None:
    """One row per submission: submission, verdict, score, then one column per test's verdict."""
    names: list[str] = []
    for r in reports:
        names += [t["name"] for t in r["tests"] if t["name"] not in names]
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["submission", "verdict", "score", *names])
        for r in reports:
            by_name = {t["name"]: t["verdict"] for t in r["tests"]}
            out.writerow([r["submission"], r["verdict"], f"{r['score']:.4f}",
                          *(by_name.get(n, "") for n in names)])


def gradescope(report: Report) -> dict[str, Any]:
    """Gradescope's autograder results.json; hidden tests show once grades are published."""
    tests = [{"name": t["name"], "score": t["points"] if t["verdict"] == "accepted" else 0.0,
              "max_score": t["points"],
              "status": "passed" if t["verdict"] == "accepted" else "failed",
              "output": f"{t['verdict']}: {t.get('message', '')}".rstrip(": "),
              "visibility": "visible" if t["visible"] else "after_published"}
             for t in report["tests"]]
    total = sum(t["points"] for t in report["tests"])
    feedback = "\n".join(report["feedback"])
    return {"score": round(report["score"] * total, 6), "max_score": total,
            "output": f"{report['verdict']}" + (f"\n{feedback}" if feedback else ""),
            "visibility": "visible", "tests": tests}


def slug(submission: str) -> str:
    """A folder name per submission, unique as long as the paths are."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", submission.strip("/")) or "submission"


def write_gradescope(reports: list[Report], folder: Path) -> None:
    for r in reports:
        target = folder / slug(r["submission"])
        target.mkdir(parents=True, exist_ok=True)
        (target / "results.json").write_text(json.dumps(gradescope(r), indent=2),
                                             encoding="utf-8")


def write_junit(reports: list[Report], path: Path) -> None:
    """One <testsuite> per submission, one <testcase> per test; non-accepted tests fail."""
    root = ET.Element("testsuites", name="jaxjudge")
    for r in reports:
        failed = [t for t in r["tests"] if t["verdict"] != "accepted"]
        suite = ET.SubElement(root, "testsuite", name=r["submission"],
                              tests=str(len(r["tests"])), failures=str(len(failed)),
                              time=f"{r['duration_s']:.3f}")
        for t in r["tests"]:
            case = ET.SubElement(suite, "testcase", classname=r["problem"], name=t["name"])
            if t["verdict"] != "accepted":
                failure = ET.SubElement(case, "failure", message=t["verdict"], type=t["verdict"])
                failure.text = t.get("message", "")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
