"""Grading results that serialise themselves: the JSON contract and the learner's text report.

A report's full JSON holds everything. What a learner may see is decided by one function,
`redact`, over that JSON (so a stored report can be shown to each reader as their role allows).
It is a whitelist: the learner's view is built anew from the fields allowed. Of a hidden test
only what its verdict decides: name, verdict, points (earned: points if accepted, else none);
nothing the learner's code chose or steered (no error size, dtype, shape, exception name or
time: each would carry bits of the hidden inputs out, one submission at a time). No output
printed after the hidden inputs reached the jail. Instructors read the full JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape

from grader.verdict import Verdict

# A report's fields a learner reads (not hidden_output: printed while hidden inputs were in the
# jail). Every other field of a stored report, present or future, stays with instructors.
LEARNER_KEYS = ("problem", "submission", "run", "verdict", "score", "feedback", "output",
                "environment", "duration_s")


# A report keeps of an array only what a person reads: at most this many values of any
# argument, expected or returned array (a returned array of the wrong shape: SUMMARY_HEAD),
# the rest summed up by shape and dtype. A learner's 300-byte file can return 2,000,000 values.
MAX_SHOWN = 1000
SUMMARY_HEAD = 10


def plain(value: Any, limit: int = MAX_SHOWN) -> Any:
    """An array as JSON-ready lists, whole when it has at most `limit` values; else a summary
    {"truncated": true, "shape", "dtype", "size", "head": its first `limit` values, flattened}.
    Learner arrays are numbers of any width (the channel takes kinds b, i, u, f): a long
    double's tolist() keeps np.longdouble, which JSON cannot hold."""
    import numpy as np  # here, not at the top: `jaxjudge submit` renders without numpy

    if isinstance(value, dict) and not value.get("truncated"):  # a tree, or a tuple's leaves
        return {str(k): plain(v, limit) for k, v in value.items()}
    if not isinstance(value, np.ndarray):
        return int(value) if getattr(value, "key_seed", False) else value
    whole = value.size <= limit
    head = value if whole else value.flat[:limit]  # a copy of `limit` values, never all
    if head.dtype.kind == "f" and head.dtype.itemsize > 8:
        head = head.astype(np.float64)
    if whole:
        return head.tolist()
    return {"truncated": True, "shape": list(value.shape), "dtype": str(value.dtype),
            "size": int(value.size), "head": head.tolist()}


def _shown(shown: dict[str, Any]) -> dict[str, Any]:
    """A failed test's args, expected and got, each bounded; a returned array of the wrong
    shape is only summed up (its values teach nothing the shape does not)."""
    import numpy as np

    want, got = shown.get("expected"), shown.get("got")
    mismatched = (isinstance(want, np.ndarray) and isinstance(got, np.ndarray)
                  and want.shape != got.shape) or (
        isinstance(want, dict) and isinstance(got, dict)
        and any(isinstance(w, np.ndarray) and isinstance(g, np.ndarray) and w.shape != g.shape
                for k, w in want.items() if (g := got.get(k)) is not None))
    return {k: ({n: plain(v) for n, v in val.items()} if k == "args" else
                plain(val, SUMMARY_HEAD if k == "got" and mismatched else MAX_SHOWN))
            for k, val in shown.items()}


@dataclass
class TestResult:
    __test__ = False  # not a pytest class, whatever its name

    name: str
    verdict: Verdict
    visible: bool
    points: float
    message: str = ""
    max_abs_diff: float | None = None
    max_rel_diff: float | None = None
    details: tuple[str, ...] = ()
    shown: dict[str, Any] = field(default_factory=dict)  # args/expected/got of a failed test
    statistical: bool = False  # a check over many seeds, not a fixed-seed test
    ratio: float | None = None  # largest diff over its allowance (fixed-seed tests)
    summary: str = ""  # the message as a hidden test may show it
    plot: dict[str, Any] | None = None  # a visible check's picture data (judging/pictures.py)

    def to_dict(self) -> dict[str, Any]:
        """Everything, for instructors; `redact` makes the learner's view of it."""
        out = {"name": self.name, "verdict": str(self.verdict), "visible": self.visible,
               "points": self.points, "max_abs_diff": self.max_abs_diff,
               "max_rel_diff": self.max_rel_diff,
               "message": "\n".join([self.message, *self.details]).strip(),
               "summary": self.summary, "statistical": self.statistical}
        if self.shown:
            out["shown"] = _shown(self.shown)
        if self.plot is not None:
            out["plot"] = self.plot
        return out


def redact_test(test: dict[str, Any]) -> dict[str, Any]:
    """A learner's view of one test. A hidden one is made anew from what its verdict decides
    and the spec fixes (name, points, kind), never copied from what the learner's code made:
    a value, its size (even to one figure), dtype, shape, an exception's name or a time is
    output of code that read the hidden inputs."""
    if test["visible"]:
        return {k: v for k, v in test.items() if k != "summary"}
    return {"name": str(test["name"]), "verdict": str(test["verdict"]), "visible": False,
            "points": float(test["points"]), "statistical": bool(test.get("statistical"))}


def redact(report: dict[str, Any]) -> dict[str, Any]:
    """The learner's view of a full report (Report.to_dict(reveal=True) or a stored copy)."""
    out = {k: report[k] for k in LEARNER_KEYS if k in report}
    out["tests"] = [redact_test(t) for t in report.get("tests", [])]
    return out


def json_bytes(value: Any) -> int:
    return len(json.dumps(value, default=float).encode())


def _cut(text: str, keep: int) -> str:
    if len(text) <= keep:
        return text
    half = keep // 2
    return (f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n"
            f"{text[len(text) - half:]}")


# What each pass of `fit` keeps of a test's and a report's text, most first.
_PASSES = ((2000, 4000), (200, 0))


def _skeleton(test: dict[str, Any]) -> dict[str, Any]:
    """What a test keeps in the smallest report: what its verdict decides, and no more."""
    return {"name": str(test["name"])[:100], "verdict": test["verdict"],
            "visible": test["visible"], "points": test["points"], "message": "",
            "summary": "", "statistical": test.get("statistical", False)}


def fit(report: dict[str, Any], cap: int) -> dict[str, Any]:
    """The full report when its JSON holds at most `cap` bytes; else a smaller one with
    `"truncated": true` and `"size"` (the full one's bytes). The hidden part goes first: hidden
    tests down to their skeleton and `hidden_output`, so whether a learner's visible values
    are kept never depends on what the code did with hidden inputs. Then visible tests lose
    their values (`shown`, `plot`), then most of their text, then all but their skeleton. The
    grade, the verdict and every test's verdict and points are always kept, whatever the cap."""
    size = json_bytes(report)
    if size <= cap:
        return report
    tests = [t if t.get("visible") else _skeleton(t) for t in report["tests"]]
    small: dict[str, Any] = {**report, "truncated": True, "size": size, "tests": tests,
                             "hidden_output": ""}
    if json_bytes(small) <= cap:
        return small
    for message, output in _PASSES:
        small = {**small,
                 "tests": [{**{k: v for k, v in t.items() if k not in ("shown", "plot")},
                            "message": _cut(str(t.get("message", "")), message),
                            "summary": _cut(str(t.get("summary", "")), message)}
                           if t.get("visible") else t for t in tests],
                 "feedback": [_cut(str(f), message) for f in report.get("feedback", [])],
                 "output": _cut(str(report.get("output", "")), output)}
        if json_bytes(small) <= cap:
            return small
    small["tests"] = [_skeleton(t) for t in report["tests"]]
    small["feedback"] = []
    return small


@dataclass
class Report:
    problem: str
    submission: str
    tests: list[TestResult]
    feedback: list[str]
    environment: dict[str, str]
    duration_s: float
    output: str = ""  # printed before any hidden input reached the jail: import, visible tests
    hidden_output: str = ""  # printed afterwards: instructors only
    run: bool = False  # a Run: visible tests and checks only, never graded or counted

    @property
    def verdict(self) -> Verdict:
        failing = next((t for t in self.tests if t.verdict != Verdict.ACCEPTED), None)
        return Verdict.ACCEPTED if failing is None else failing.verdict

    @property
    def score(self) -> float:
        total = sum(t.points for t in self.tests)
        won = sum(t.points for t in self.tests if t.verdict == Verdict.ACCEPTED)
        return won / total if total else 0.0

    def to_dict(self, reveal: bool = False) -> dict[str, Any]:
        full = {"problem": self.problem, "submission": self.submission,
                **({"run": True} if self.run else {}), "verdict": str(self.verdict),
                "score": self.score,
                "tests": [t.to_dict() for t in self.tests], "feedback": self.feedback,
                "output": self.output, "hidden_output": self.hidden_output,
                "environment": self.environment, "duration_s": round(self.duration_s, 3)}
        return full if reveal else redact(full)

    def render(self, console: Console, reveal: bool = False) -> None:
        render(self.to_dict(reveal), console)


def value_text(value: Any) -> str:
    """An argument or output as the text report (and the submission page) writes it."""
    if isinstance(value, dict) and not value.get("truncated"):  # a tree or a tuple's leaves
        return "{" + ", ".join(f"{k}: {value_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        import numpy as np  # a report with values: the judge's, or a client printing a failure

        return np.array2string(np.asarray(value), precision=6, separator=", ")
    if isinstance(value, dict) and value.get("truncated"):
        shape = tuple(value.get("shape", ()))
        head = value.get("head", [])
        return (f"array of shape {shape} {value.get('dtype', '')}, {value.get('size')} values "
                f"(truncated; the first {len(head)}, flattened: {value_text(head)})")
    return repr(value)


def render(report: dict[str, Any], console: Console) -> None:
    """The text report of a report's JSON, as its reader may see it (redact it first for a
    learner): `jaxjudge grade` and `jaxjudge submit` print the same thing."""
    verdict = report["verdict"]
    colour = "green" if verdict == Verdict.ACCEPTED else "red"
    if report.get("run"):
        console.print("[bold]Run — not graded[/bold] (visible tests and checks only)",
                      highlight=False)
    console.print(f"[bold]{report['problem']}[/bold] · {escape(report['submission'])}: "
                  f"[bold {colour}]{verdict}[/bold {colour}]  score {report['score']:.2f}  "
                  f"({report['duration_s']:.1f} s)", highlight=False)
    for t in report["tests"]:
        ok = t["verdict"] == Verdict.ACCEPTED
        mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
        tag = "" if t["visible"] else " [dim](hidden)[/dim]"
        diff = "" if t.get("max_abs_diff") is None else f"  max abs diff {t['max_abs_diff']:.2g}"
        console.print(f"  {mark} {escape(t['name'])}{tag}: {t['verdict']}{diff}",
                      highlight=False)
        if ok:
            if t.get("statistical") and t.get("message"):  # what a check saw teaches when it passes
                console.print(f"      {t['message']}", markup=False, style="dim")
            continue
        for sub in t.get("message", "").strip().splitlines():
            console.print(f"      {sub}", markup=False)
        shown = t.get("shown", {})
        for key, value in [*shown.get("args", {}).items(),
                           *((k, v) for k, v in shown.items() if k != "args")]:
            console.print(f"      {key} = {value_text(value)}", markup=False)
    for line in report["feedback"]:
        console.print("[yellow]hint:[/yellow] ", end="")
        console.print(line, markup=False, highlight=False)
    printed = [("your program's output (import and visible tests)", report.get("output", "")),
               ("its output during hidden tests (instructors only)",
                report.get("hidden_output", ""))]
    for title, text in printed:
        if text and verdict != Verdict.ACCEPTED:
            console.print(f"[dim]{title}:[/dim]")
            console.print(text if len(text) <= 4000 else
                          text[:2000] + "\n[...]\n" + text[-2000:], markup=False)
