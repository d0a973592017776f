"""Grading wall time of each accepted example next to the floor measured in the same run.

Floor: a fresh unsandboxed `python` that imports jax and makes the same calls (fixed tests and
statistical checks' seeds) of the same file, with no compile cache. Expected outputs and the
compile cache are warmed first (`jaxjudge warm`, as `verify` leaves them), so the grade time is
the sandboxed run plus the judge's own bookkeeping; 'expect s' is the cost of expected outputs
at that moment. 'no-stats s' grades with
the problem's statistical checks removed: the difference is what the checks cost.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.data.cache import compile_cache_dir
from grader.data.expected import expected_outputs
from grader.judging.judge import grade_submission, plan
from grader.model.problems import Problem, load_problem
from grader.sandbox.local import LocalSandbox
from grader.tools.warm import warm
from grader.verdict import Verdict

ROOT = Path(__file__).resolve().parents[1]
FLOOR = """
import pickle, sys, numpy as np, jax
args = pickle.load(open(sys.argv[1], "rb"))
ns = {"__name__": "submission"}
exec(compile(open(sys.argv[2]).read(), sys.argv[2], "exec"), ns)
fn = ns[sys.argv[3]]
for a in args:
    np.asarray(fn(**a))
"""


def floor_seconds(path: Path, fn: str, args_file: Path) -> float:
    start = time.perf_counter()
    # Same platform pin as the sandboxed runner, so neither pays for probing accelerators.
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    subprocess.run([sys.executable, "-c", FLOOR, str(args_file), str(path), fn], check=True,
                   capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    print(f"{'example':52} {'floor s':>8} {'expect s':>8} {'grade s':>8} {'no-stats s':>10} "
          f"{'grade/floor':>12}")
    ratios = []
    stats_cost: dict[str, list[float]] = {}
    warmed: set[str] = set()
    for path in sorted((ROOT / "submissions").glob("*/accepted/*.py")):
        problem = load_problem(path.parent.parent.name)
        bare = Problem(problem.root, problem.spec.model_copy(update={"statistics": []}))
        if problem.id not in warmed:
            warmed.add(problem.id)
            warm(problem)
        with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
            # Trusted inputs the bench itself wrote; pickle never crosses from a submission.
            pickle.dump(plan(problem).calls, f)
            f.flush()
            start = time.perf_counter()
            expected_outputs(problem)
            ref = time.perf_counter() - start
            floors, grades, bares = [], [], []
            sandbox = LocalSandbox(compile_cache=compile_cache_dir())
            for _ in range(opts.repeats):
                floors.append(floor_seconds(path, problem.spec.function.name, Path(f.name)))
                report = grade_submission(problem, path, sandbox)
                assert report.verdict == Verdict.ACCEPTED, report.to_dict()
                grades.append(report.duration_s)
                bares.append(grade_submission(bare, path, sandbox).duration_s)
        fl, gr, ba = (statistics.median(x) for x in (floors, grades, bares))
        ratio = gr / fl
        ratios.append(ratio)
        stats_cost.setdefault(problem.id, []).append(gr - ba)
        name = "/".join(path.parts[-3:])
        print(f"{name:52} {fl:8.2f} {ref:8.2f} {gr:8.2f} {ba:10.2f} {ratio:12.2f}")
    print(f"median grade/floor ratio: {statistics.median(ratios):.2f} "
          f"(medians of {opts.repeats} runs each, floor and grade interleaved)")
    for pid, costs in stats_cost.items():
        calls = len(plan(load_problem(pid)).calls) - len(load_problem(pid).tests)
        print(f"statistical checks of {pid}: {calls} calls, median cost "
              f"{statistics.median(costs):.2f} s per grade")


if __name__ == "__main__":
    main()
