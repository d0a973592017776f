"""The jaxjudge command: a thin adapter over the API that maps errors to exit codes in one place."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markdown import Markdown
from rich.progress import Progress, TimeElapsedColumn

from grader.batch import find_submissions, grade_many, make_sandbox
from grader.compile_cache import compile_cache_dir, warm
from grader.errors import JudgeError
from grader.expected import reference_output
from grader.exports import write_csv, write_gradescope, write_junit
from grader.judge import grade_submission
from grader.mutants import run_mutants
from grader.problems import Problem, list_problems, load_problem
from grader.spec import ArrayParam, ProblemSpec, ScalarParam
from grader.verdict import Verdict
from grader.verify import verify_problem

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def signature(problem: Problem) -> str:
    fn = problem.spec.function

    def shape(dims: Sequence[int | str]) -> str:
        return "[" + ", ".join(str(d) for d in dims) + "]"

    def kind(p: ArrayParam | ScalarParam) -> str:
        return f"{p.dtype}{shape(p.shape)}" if isinstance(p, ArrayParam) else p.kind

    params = ", ".join(f"{p.name}: {kind(p)}" for p in fn.params)
    return f"{fn.name}({params}) -> {fn.returns.dtype}{shape(fn.returns.shape)}"


def _fmt(value: object) -> str:
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=5, separator=", ", max_line_width=88)
    return repr(value)


def cmd_list(console: Console, _: argparse.Namespace) -> int:
    for p in list_problems():
        console.print(f"[bold]{p.id}[/bold]  {p.spec.title}", highlight=False)
    return EXIT_OK


def cmd_show(console: Console, args: argparse.Namespace) -> int:
    problem = load_problem(args.problem)
    console.print(Markdown(problem.statement()))
    console.print(f"\n[bold]Signature[/bold]\n  {signature(problem)}", highlight=False)
    visible = [c for c in problem.tests if c.visible]
    console.print(f"\n[bold]Visible examples[/bold] ({len(visible)} of {len(problem.tests)} tests)")
    for case in visible:
        console.print(f"\n  [bold]{case.name}[/bold]", highlight=False)
        for name, value in case.args.items():
            console.print(f"    {name} = {_fmt(value)}", highlight=False)
        out = reference_output(problem, case)
        console.print(f"    expected = {_fmt(out)}", highlight=False)
    return EXIT_OK


def cmd_verify(console: Console, args: argparse.Namespace) -> int:
    problems = [load_problem(p) for p in args.problems] if args.problems else list_problems()
    if not problems:
        raise JudgeError("no problems found under problems/")
    failed = False
    for problem in problems:
        result = verify_problem(problem, examples=not args.skip_examples)
        if result.ok and not args.skip_examples:
            # The examples passed, so they are fit to warm the cache learners' grades read.
            result.warnings += warm(problem)
        mark = "[green]ok[/green]" if result.ok else "[red]FAILED[/red]"
        console.print(f"{mark} {problem.id}: {result.tests} tests, reference matches the spec; "
                      f"{result.examples} examples graded", highlight=False)
        if result.separation:
            console.print("  separation per fixed-seed test (diff / allowed: accepted examples "
                          "must stay below 1, wrong answers above):", highlight=False)
            for line in result.separation:
                console.print(f"    {line}", highlight=False, markup=False, soft_wrap=True)
        for warning in result.warnings:
            console.print(f"    warning: {warning}", highlight=False, markup=False,
                          soft_wrap=True)
        for failure in result.failures:
            console.print(f"    {failure}", highlight=False, markup=False, soft_wrap=True)
        failed |= not result.ok
        if args.mutants:
            _report_mutants(console, problem)
    return EXIT_FAILED if failed else EXIT_OK


def _report_mutants(console: Console, problem: Problem) -> None:
    """Survivors are reported, not failed: some mutants are equivalent to the reference."""
    results = run_mutants(problem)
    survivors = [r for r in results if r.survived]
    console.print(f"  mutants: {len(results) - len(survivors)} of {len(results)} caught",
                  highlight=False)
    for r in results:
        mark = "SURVIVED" if r.survived else f"caught ({r.verdict})"
        console.print(f"    line {r.mutant.line}: {r.mutant.description}: {mark}",
                      highlight=False, markup=False, soft_wrap=True)


def cmd_grade(console: Console, args: argparse.Namespace) -> int:
    problem = load_problem(args.problem)
    paths = [Path(p) for p in args.paths]
    if args.unsafe_no_sandbox:
        print("jaxjudge: warning: --unsafe-no-sandbox runs the submission without isolation",
              file=sys.stderr)
    if len(paths) > 1 or paths[0].is_dir() or args.csv or args.gradescope or args.junit:
        return _grade_batch(console, args, problem, paths)
    path = paths[0]
    if not path.is_file():
        raise JudgeError(f"{path}: no such submission file")
    sandbox = make_sandbox(args.backend, args.unsafe_no_sandbox,
                           per_process_limits=args.per_process_limits)
    report = grade_submission(problem, path, sandbox)
    if args.format == "json":
        print(json.dumps(report.to_dict()))
    else:
        report.render(console)
    if report.verdict == Verdict.JUDGE_ERROR:
        return EXIT_ERROR
    return EXIT_OK if report.verdict == Verdict.ACCEPTED else EXIT_FAILED


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
        counts = Counter(r["verdict"] for r in reports)
        console.print(", ".join(f"{n} {v}" for v, n in sorted(counts.items())), highlight=False)
    judge_failed = any(r["verdict"] == Verdict.JUDGE_ERROR for r in reports)
    return EXIT_ERROR if judge_failed else EXIT_OK


def cmd_warm(console: Console, args: argparse.Namespace) -> int:
    problems = [load_problem(p) for p in args.problems] if args.problems else list_problems()
    failed = False
    for problem in problems:
        start = time.monotonic()
        problems_seen = warm(problem)
        failed |= bool(problems_seen)
        console.print(f"{problem.id}: compile cache warmed in {time.monotonic() - start:.1f} s "
                      f"({compile_cache_dir()})", highlight=False, soft_wrap=True)
        for line in problems_seen:
            console.print(f"    {line}", highlight=False, markup=False, soft_wrap=True)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_schema(_: Console, __: argparse.Namespace) -> int:
    print(json.dumps(ProblemSpec.model_json_schema(), indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxjudge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="problems, one line each").set_defaults(run=cmd_list)
    show = sub.add_parser("show", help="statement, signature and visible examples")
    show.add_argument("problem")
    show.set_defaults(run=cmd_show)
    verify = sub.add_parser("verify", help="check specs and references (instructors)")
    verify.add_argument("problems", nargs="*")
    verify.add_argument("--skip-examples", action="store_true",
                        help="check specs and references only, do not grade submissions/")
    verify.add_argument("--mutants", action="store_true",
                        help="also grade small mutations of the reference; list the survivors")
    verify.set_defaults(run=cmd_verify)
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
    grade.add_argument("--backend", choices=["local", "docker"], default="local",
                       help="local: bubblewrap jails; docker: a fresh jaxjudge:runner container "
                            "per submission (build it with 'make image')")
    grade.add_argument("--format", choices=["text", "json"], default="text")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run without bubblewrap (no isolation: trusted code only)")
    grade.add_argument("--per-process-limits", action="store_true",
                       help="where no cgroup can be made, grade with per-process limits only "
                            "(memory_mb per process, no CPU cap) instead of refusing; also "
                            "JAXJUDGE_LIMITS=per-process")
    grade.set_defaults(run=cmd_grade)
    warm_cmd = sub.add_parser("warm", help="fill the XLA compile cache from trusted code")
    warm_cmd.add_argument("problems", nargs="*")
    warm_cmd.set_defaults(run=cmd_warm)
    sub.add_parser("schema", help="JSON Schema of problem.yaml").set_defaults(run=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    try:
        code: int = args.run(console, args)
    except JudgeError as exc:
        print(f"jaxjudge: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("jaxjudge: interrupted", file=sys.stderr)
        return EXIT_ERROR
    return code


if __name__ == "__main__":
    sys.exit(main())
