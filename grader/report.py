"""Grading results that serialise themselves: the JSON contract and the learner's text report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Console

from grader.verdict import Verdict


@dataclass
class TestResult:
    name: str
    verdict: Verdict
    visible: bool
    points: float
    message: str = ""
    max_abs_diff: float | None = None
    max_rel_diff: float | None = None
    details: tuple[str, ...] = ()
    shown: dict[str, Any] = field(default_factory=dict)  # inputs/expected/got, visible tests only
    statistical: bool = False  # a check over many seeds, not a fixed-seed test
    ratio: float | None = None  # largest diff over its allowance (fixed-seed tests)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "verdict": str(self.verdict), "visible": self.visible,
                "points": self.points, "max_abs_diff": self.max_abs_diff,
                "max_rel_diff": self.max_rel_diff,
                "message": "\n".join([self.message, *self.details]).strip()}


@dataclass
class Report:
    problem: str
    submission: str
    tests: list[TestResult]
    feedback: list[str]
    environment: dict[str, str]
    duration_s: float
    output: str = ""  # the learner's captured stdout/stderr, truncated

    @property
    def verdict(self) -> Verdict:
        failing = next((t for t in self.tests if t.verdict != Verdict.ACCEPTED), None)
        return Verdict.ACCEPTED if failing is None else failing.verdict

    @property
    def score(self) -> float:
        total = sum(t.points for t in self.tests)
        won = sum(t.points for t in self.tests if t.verdict == Verdict.ACCEPTED)
        return won / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"problem": self.problem, "submission": self.submission,
                "verdict": str(self.verdict), "score": self.score,
                "tests": [t.to_dict() for t in self.tests], "feedback": self.feedback,
                "environment": self.environment, "duration_s": round(self.duration_s, 3)}

    def render(self, console: Console) -> None:
        colour = "green" if self.verdict == Verdict.ACCEPTED else "red"
        console.print(f"[bold]{self.problem}[/bold] · {self.submission}: "
                      f"[bold {colour}]{self.verdict}[/bold {colour}]  score {self.score:.2f}  "
                      f"({self.duration_s:.1f} s)")
        for t in self.tests:
            ok = t.verdict == Verdict.ACCEPTED
            mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
            tag = "" if t.visible else " [dim](hidden)[/dim]"
            diff = f"  max abs diff {t.max_abs_diff:.2g}" if t.max_abs_diff is not None else ""
            console.print(f"  {mark} {t.name}{tag}: {t.verdict}{diff}")
            if ok:
                if t.statistical:  # what the check saw teaches even when it passes
                    console.print(f"      {t.message}", markup=False, style="dim")
                continue
            for line in [t.message, *t.details]:
                for sub in line.strip().splitlines():
                    console.print(f"      {sub}", markup=False)
            for key, value in t.shown.items():
                text = (np.array2string(value, precision=6, separator=", ")
                        if isinstance(value, np.ndarray) else repr(value))
                console.print(f"      {key} = {text}", markup=False)
        for line in self.feedback:
            console.print(f"[yellow]hint:[/yellow] {line}")
        if self.output and self.verdict != Verdict.ACCEPTED:
            console.print("[dim]your program's output (truncated):[/dim]")
            console.print(self.output[-2000:], markup=False)
