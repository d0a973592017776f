"""Commands about problems: list, show, verify, warm, cache, schema."""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

import numpy as np
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape

from grader.cli.exits import EXIT_FAILED, EXIT_OK
from grader.data import cache
from grader.data.expected import reference_output
from grader.errors import JudgeError
from grader.model.problems import Problem, list_problems, load_problem, signature
from grader.model.spec import ProblemSpec
from grader.tools.mutants import run_mutants, stale_explanations
from grader.tools.verify import verify_problem
from grader.tools.warm import compile_cache_dir, warm


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("list", help="problems, one line each").set_defaults(run=cmd_list)
    show = sub.add_parser("show", help="statement, signature and visible examples")
    show.add_argument("problem")
    show.set_defaults(run=cmd_show)
    verify = sub.add_parser("verify", help="check specs and references (instructors)")
    verify.add_argument("problems", nargs="*")
    verify.add_argument("--skip-examples", action="store_true",
                        help="check specs and references only, do not grade submissions/")
    verify.add_argument("--mutants", action="store_true",
                        help="also grade small mutations of every trusted solution (the "
                        "reference, then trusted_examples); fail on a survivor that "
                        "equivalent_mutants does not explain")
    verify.set_defaults(run=cmd_verify)
    warm_cmd = sub.add_parser("warm", help="fill the XLA compile cache from trusted code "
                              "(entries without source locations, in a folder jails cannot list)")
    warm_cmd.add_argument("problems", nargs="*")
    warm_cmd.set_defaults(run=cmd_warm)
    cache_cmd = sub.add_parser("cache", help="where the caches live, or remove them all")
    cache_cmd.add_argument("action", choices=["path", "clear"],
                           help="path: print each cache's folder; clear: remove every cache "
                                "(expected outputs, diagnoses, baselines, results, compile cache)")
    cache_cmd.set_defaults(run=cmd_cache)
    sub.add_parser("schema", help="JSON Schema of problem.yaml").set_defaults(run=cmd_schema)


def _fmt(value: object) -> str:
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=5, separator=", ", max_line_width=88)
    if isinstance(value, str):  # a choice, or a callable's name (GivenName)
        return repr(str(value))
    return repr(value)


def cmd_list(console: Console, _: argparse.Namespace) -> int:
    """Problems by track, in the order a learner climbs them (problems/tracks.yaml)."""
    from grader.model.tracks import grouped, optional_tracks

    problems = list_problems()
    width = max((len(p.id) for p in problems), default=0)
    for i, (title, group) in enumerate(grouped(problems, optional_tracks())):
        console.print(("\n" if i else "") + f"[bold]{title}[/bold]", highlight=False)
        for n, p in enumerate(group, 1):
            about = (f"  [{p.spec.difficulty}]" if p.spec.difficulty else "") + (
                f"  {', '.join(p.spec.tags)}" if p.spec.tags else "")
            console.print(f"  {n:>2}. [bold]{p.id:<{width}}[/bold]  {p.spec.title}"
                          f"[dim]{escape(about)}[/dim]", highlight=False, soft_wrap=True)
    return EXIT_OK


def cmd_show(console: Console, args: argparse.Namespace) -> int:
    problem = load_problem(args.problem)
    console.print(Markdown(problem.statement()))
    given = problem.given_source()
    if given is not None:  # course material the learner's function is called with
        console.print("\n[bold]Given functions[/bold] (given.py)")
        console.print(given.rstrip(), highlight=False, markup=False, soft_wrap=True)
    lines = signature(problem).replace("\n", "\n  ")
    console.print(f"\n[bold]Signature[/bold]\n  {lines}", highlight=False)
    visible = [c for c in problem.tests if c.visible]
    console.print(f"\n[bold]Visible examples[/bold] ({len(visible)} of {len(problem.tests)} tests)")
    for case in visible:
        calls = f" calls {case.call}" if case.call else ""
        console.print(f"\n  [bold]{case.name}[/bold]{calls}", highlight=False)
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
            failed |= not _report_mutants(console, problem)
    return EXIT_FAILED if failed else EXIT_OK


def _report_mutants(console: Console, problem: Problem) -> bool:
    """Every mutant with its solution and line; True when each survivor is explained by the
    spec's `equivalent_mutants` and each of those explains a survivor."""
    results = run_mutants(problem)
    survivors = [r for r in results if r.survived]
    explained = [r for r in survivors if r.explained]
    caught = len(results) - len(survivors)
    per = ", ".join(f"{s} {n}" for s, n in Counter(r.source for r in results).items())
    console.print(f"  mutants: {caught} of {len(results)} caught ({per}); {len(explained)} "
                  f"explained as equivalent, {len(survivors) - len(explained)} survived",
                  highlight=False, markup=False, soft_wrap=True)
    named = [r for r in results if not r.survived and r.recognised]
    console.print(f"  feedback names {len(named)} of {caught} caught", highlight=False)
    for r in results:
        if r.hole:
            mark = "SURVIVED"
        elif r.survived:
            mark = f"explained: {r.explained}"
        else:
            mark = f"caught ({r.verdict})\n      " + (
                f"hint: {r.recognised}" if r.recognised else "no hint names it")
        console.print(f"    {r.source} line {r.mutant.line}: {r.mutant.description} "
                      f"[{r.mutant.change}]: {mark}",
                      highlight=False, markup=False, soft_wrap=True)
    stale = stale_explanations(problem, results)
    for line in stale:
        console.print(f"    {line}", highlight=False, markup=False, soft_wrap=True)
    return not stale and all(not r.hole for r in results)


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
