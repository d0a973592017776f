"""The jaxjudge command: a thin adapter over the API that maps errors to exit codes in one place."""

from __future__ import annotations

import argparse
import io
import json
import os
import select
import sys
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markdown import Markdown
from rich.progress import Progress, TimeElapsedColumn

from grader import cache
from grader.batch import find_submissions, grade_many, make_sandbox
from grader.compile_cache import compile_cache_dir, warm
from grader.errors import JudgeError
from grader.expected import reference_output
from grader.exports import write_csv, write_gradescope, write_junit
from grader.judge import grade_submission
from grader.mutants import run_mutants
from grader.problems import Problem, list_problems, load_problem
from grader.report import redact
from grader.spec import ArrayParam, ProblemSpec, ScalarParam
from grader.submission import read_submission
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
            # The examples passed in the sandbox; warm runs only the reference and the trusted
            # ones outside it, to fill the compile cache learners' grades read.
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
    submission = read_submission(paths[0])  # a refusal is a one-line error, exit 2
    report = grade_submission(problem, submission,
                              make_sandbox(args.backend, args.unsafe_no_sandbox))
    if args.format == "json":
        print(json.dumps(report.to_dict(reveal=args.reveal)))
    else:
        report.render(console, reveal=args.reveal)
    return grade_exit([report.verdict], batch=False)


def grade_exit(verdicts: Sequence[str], batch: bool) -> int:
    """The one rule for graded submissions: a judge error anywhere is 2; one submission is 0 only
    when accepted, while a batch succeeds once every submission got its verdict."""
    if Verdict.JUDGE_ERROR in verdicts:
        return EXIT_ERROR
    if batch or all(v == Verdict.ACCEPTED for v in verdicts):
        return EXIT_OK
    return EXIT_FAILED


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


def _size(n: int) -> str:
    units = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
    unit, scale = next(((u, k) for u, k in units if n >= k), ("B", 1))
    return f"{n} B" if scale == 1 else f"{n / scale:.1f} {unit}"


def cmd_cache(_: Console, args: argparse.Namespace) -> int:
    if args.action == "path":
        for kind, path in cache.locations().items():
            print(f"{kind:10} {path}")
        return EXIT_OK
    try:
        removed = cache.clear()
    except OSError as exc:
        raise JudgeError(f"cannot clear the cache: {exc}") from exc
    for path, size in removed:
        print(f"removed {path} ({_size(size)})")
    if not removed:
        print("no cache to remove")
    return EXIT_OK


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
    grade.add_argument("--reveal", action="store_true",
                       help="show hidden tests' inputs, values and output too (instructors)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run without bubblewrap (no isolation: trusted code only)")
    grade.set_defaults(run=cmd_grade)
    warm_cmd = sub.add_parser("warm", help="fill the XLA compile cache from trusted code")
    warm_cmd.add_argument("problems", nargs="*")
    warm_cmd.set_defaults(run=cmd_warm)
    cache_cmd = sub.add_parser("cache", help="where the caches live, or remove them all")
    cache_cmd.add_argument("action", choices=["path", "clear"],
                           help="path: print each cache's folder; clear: remove every cache "
                                "(expected outputs, diagnoses, baselines, results, compile cache)")
    cache_cmd.set_defaults(run=cmd_cache)
    sub.add_parser("schema", help="JSON Schema of problem.yaml").set_defaults(run=cmd_schema)
    from grader.service.cli import register  # the online judge sits on top of the core

    register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Every way out of jaxjudge, as 0, 1 or 2 (DESIGN.md): commands return their code, and
    anything raised is mapped here."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: 2 after a usage error, 0 after --help
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    console = _Console(highlight=False)
    try:
        code: int = args.run(console, args)
    except JudgeError as exc:
        print(f"jaxjudge: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("jaxjudge: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError as exc:
        if _stdout_gone():
            return EXIT_ERROR  # the reader left (| head): nothing more to say, nowhere to say it
        return _internal_error(exc)
    except Exception as exc:
        return _internal_error(exc)
    return code


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich would exit 1 ("not accepted") here; main maps it like any other broken pipe."""
        self.quiet = True
        raise BrokenPipeError


def _internal_error(exc: Exception) -> int:
    """A bug in the judge: one line, and the traceback when asked for with JAXJUDGE_DEBUG=1."""
    first = (str(exc).strip().splitlines() or [""])[0]
    debug = os.environ.get("JAXJUDGE_DEBUG") == "1"
    print(f"jaxjudge: internal error: {type(exc).__name__}: {first}"
          + ("" if debug else " (JAXJUDGE_DEBUG=1 shows the traceback)"), file=sys.stderr)
    if debug:
        traceback.print_exception(exc)
    return EXIT_ERROR


def _stdout_gone() -> bool:
    """Whether stdout is a pipe nobody reads any more; if so, it is pointed at /dev/null, so
    the interpreter's last flush does not fail again on the way out."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        gone = any(ev & select.POLLERR for _, ev in poller.poll(0))
        if gone:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False
    return gone


if __name__ == "__main__":
    sys.exit(main())
