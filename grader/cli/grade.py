"""The grade command: one submission, or a class at once with its exports."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import yaml
from rich.console import Console
from rich.progress import Progress, TimeElapsedColumn

from grader.batch.class_grading import find_submissions, grade_many
from grader.batch.exports import write_csv, write_gradescope, write_junit
from grader.cli.exits import grade_exit
from grader.data import cache
from grader.judging.execution import ready_key
from grader.judging.judge import grade_submission
from grader.model.problems import Problem, default_root, load_problem
from grader.model.report import redact
from grader.model.submission import read_submission
from grader.sandbox.factory import BACKENDS, make_sandbox, ready_sandbox
from grader.sandbox.protocol import Sandbox
from grader.sandbox.ready import LimitsKey
from grader.verdict import Verdict


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    grade = sub.add_parser("grade", help="grade one submission file, or many files and folders")
    grade.add_argument("problem")
    grade.add_argument("paths", nargs="+", metavar="PATH",
                       help="a .py file, or a folder of .py files / of student folders")
    grade.add_argument("--jobs", type=int, default=0, help="parallel sandboxes (default: cores)")
    grade.add_argument("--csv", help="write a gradebook CSV here")
    grade.add_argument("--gradescope", help="write <DIR>/<submission>/results.json")
    grade.add_argument("--junit", help="write a JUnit XML report here")
    grade.add_argument("--no-cache", action="store_true",
                       help="regrade submissions even when nothing changed")
    grade.add_argument("--backend", choices=BACKENDS, default="local",
                       help="local: bubblewrap jails; docker: a fresh jaxjudge:runner container "
                            "per submission (build it with 'make image')")
    grade.add_argument("--format", choices=["text", "json"], default="text")
    grade.add_argument("--reveal", action="store_true",
                       help="show hidden tests' inputs, values and output too (instructors)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run without bubblewrap (no isolation: trusted code only)")
    grade.add_argument("--per-process-limits", action="store_true",
                       help="where no cgroup can be made, grade with per-process limits only "
                            "(memory_mb per process, no CPU cap) instead of refusing; also "
                            "JAXJUDGE_LIMITS=per-process")
    grade.set_defaults(run=cmd_grade)


def early_key(problem_id: str) -> LimitsKey:
    """The limits a problem's jail is started with, read from its problem.yaml alone (no spec
    validation yet); the defaults when it cannot tell (the spec's load then says why)."""
    from grader.model.spec import Limits

    try:
        raw = yaml.safe_load((default_root() / "problems" / problem_id / "problem.yaml")
                             .read_text(encoding="utf-8"))
        limits = Limits(**raw.get("limits") or {})
    except Exception:
        return ready_key()
    return ready_key(limits)


def cmd_grade(console: Console, args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    single = not (len(paths) > 1 or paths[0].is_dir() or args.csv or args.gradescope
                  or args.junit)
    sandbox: Sandbox | None = None
    if single:
        # The jail first: its Python and `import jax` run while this process loads the spec,
        # the caches and the expected outputs. It grades this one file, then is closed.
        sandbox = make_sandbox(args.backend, cache.compile_cache_dir(), args.unsafe_no_sandbox,
                               per_process_limits=args.per_process_limits, keep_ready=True)
    try:
        if (ready := ready_sandbox(sandbox)) is not None:
            ready.prepare(early_key(args.problem))
            ready.keep_ready = False  # no jail after this one
        return _grade(console, args, paths, sandbox)
    finally:
        if (ready := ready_sandbox(sandbox)) is not None:
            ready.close()


def _grade(console: Console, args: argparse.Namespace, paths: list[Path],
           sandbox: Sandbox | None) -> int:
    problem = load_problem(args.problem)
    if args.unsafe_no_sandbox:
        print("jaxjudge: warning: --unsafe-no-sandbox runs the submission without isolation",
              file=sys.stderr)
    if sandbox is None:
        return _grade_batch(console, args, problem, paths)
    submission = read_submission(paths[0])  # a refusal is a one-line error, exit 2
    report = grade_submission(problem, submission, sandbox)
    if args.format == "json":
        print(json.dumps(report.to_dict(reveal=args.reveal)))
    else:
        report.render(console, reveal=args.reveal)
    return grade_exit([report.verdict], batch=False)


def _grade_batch(console: Console, args: argparse.Namespace, problem: Problem,
                 paths: list[Path]) -> int:
    """Many submissions: exit 0 when every one was graded, 2 when the judge failed on any."""
    found = find_submissions(paths, problem.spec.function.name)
    jobs = args.jobs or os.cpu_count() or 1
    with Progress(*Progress.get_default_columns(), TimeElapsedColumn(), console=console,
                  disable=not console.is_terminal, transient=True) as progress:
        task = progress.add_task(f"grading {len(found)} submissions", total=len(found))
        reports = grade_many(problem, found, jobs, use_cache=not args.no_cache,
                             backend=args.backend, unsandboxed=args.unsafe_no_sandbox,
                             per_process_limits=args.per_process_limits,
                             on_done=lambda _: progress.advance(task))
    if not args.reveal:
        reports = [redact(r) for r in reports]
    if args.csv:
        write_csv(reports, Path(args.csv))
    if args.gradescope:
        write_gradescope(reports, Path(args.gradescope))
    if args.junit:
        write_junit(reports, Path(args.junit))
    if args.format == "json":
        print(json.dumps(reports))
    else:
        for r in reports:
            console.print(f"{r['verdict']:22} {r['score']:5.2f}  {r['submission']}",
                          highlight=False, markup=False, soft_wrap=True)
            why = r["tests"][0]["message"] if r["tests"] else ""
            if r["verdict"] in (Verdict.COMPILE_ERROR, Verdict.JUDGE_ERROR) and "\n" not in why:
                console.print(f"{'':30}{why}", highlight=False, markup=False, soft_wrap=True)
        counts = Counter(r["verdict"] for r in reports)
        console.print(", ".join(f"{n} {v}" for v, n in sorted(counts.items())), highlight=False)
    return grade_exit([r["verdict"] for r in reports], batch=True)
