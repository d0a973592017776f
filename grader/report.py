"""Grading results that serialise themselves: the JSON contract and the learner's text report.

A report holds everything; what a learner may see of a hidden test is decided here, in one
place: its name, verdict, points, the size of its error to one significant figure and a summary
free of learner-chosen text. `reveal=True` (instructors) shows everything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Console

from grader.compare import one_figure
from grader.verdict import Verdict


def _rounded(x: float | None) -> float | None:
    return None if x is None else one_figure(x)


def _plain(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


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

    def view(self, reveal: bool) -> TestResult:
        """This result as its reader may see it."""
        if self.visible or reveal:
            return self
        return TestResult(self.name, self.verdict, self.visible, self.points, self.summary,
                          _rounded(self.max_abs_diff), _rounded(self.max_rel_diff),
                          statistical=self.statistical)

    def to_dict(self, reveal: bool = False) -> dict[str, Any]:
        t = self.view(reveal)
        out = {"name": t.name, "verdict": str(t.verdict), "visible": t.visible,
               "points": t.points, "max_abs_diff": t.max_abs_diff,
               "max_rel_diff": t.max_rel_diff,
               "message": "\n".join([t.message, *t.details]).strip()}
        if t.shown:
            out["shown"] = {k: ({n: _plain(v) for n, v in val.items()} if k == "args"
                                else _plain(val)) for k, val in t.shown.items()}
        return out


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
        out = {"problem": self.problem, "submission": self.submission,
               "verdict": str(self.verdict), "score": self.score,
               "tests": [t.to_dict(reveal) for t in self.tests], "feedback": self.feedback,
               "output": self.output, "environment": self.environment,
               "duration_s": round(self.duration_s, 3)}
        if reveal:
            out["hidden_output"] = self.hidden_output
        return out

    def render(self, console: Console, reveal: bool = False) -> None:
        colour = "green" if self.verdict == Verdict.ACCEPTED else "red"
        console.print(f"[bold]{self.problem}[/bold] · {self.submission}: "
                      f"[bold {colour}]{self.verdict}[/bold {colour}]  score {self.score:.2f}  "
                      f"({self.duration_s:.1f} s)", highlight=False)
        for t in (r.view(reveal) for r in self.tests):
            ok = t.verdict == Verdict.ACCEPTED
            mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
            tag = "" if t.visible else " [dim](hidden)[/dim]"
            diff = f"  max abs diff {t.max_abs_diff:.2g}" if t.max_abs_diff is not None else ""
            console.print(f"  {mark} {t.name}{tag}: {t.verdict}{diff}", highlight=False)
            if ok:
                if t.statistical and t.message:  # what the check saw teaches even when it passes
                    console.print(f"      {t.message}", markup=False, style="dim")
                continue
            for line in [t.message, *t.details]:
                for sub in line.strip().splitlines():
                    console.print(f"      {sub}", markup=False)
            for key, value in [*t.shown.get("args", {}).items(),
                               *((k, v) for k, v in t.shown.items() if k != "args")]:
                text = (np.array2string(value, precision=6, separator=", ")
                        if isinstance(value, np.ndarray) else repr(value))
                console.print(f"      {key} = {text}", markup=False)
        for line in self.feedback:
            console.print(f"[yellow]hint:[/yellow] {line}", highlight=False)
        printed = [("your program's output (import and visible tests)", self.output)]
        if reveal:
            printed.append(("its output during hidden tests (instructors only)",
                            self.hidden_output))
        for title, text in printed:
            if text and self.verdict != Verdict.ACCEPTED:
                console.print(f"[dim]{title}:[/dim]")
                console.print(text if len(text) <= 4000 else
                              text[:2000] + "\n[...]\n" + text[-2000:], markup=False)
