"""Grading wall time of each accepted example next to the floor measured in the same run.

Floor: a fresh unsandboxed `python` that imports jax and calls the same file on the same inputs.
Expected outputs come from the judge's cache (warmed first, as `verify` leaves it), so the grade
time is the sandboxed run plus the judge's own bookkeeping; 'expect s' is the cost of
expected outputs at that moment (the reference when cold, a cache read when warm).
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

from grader.expected import expected_outputs
from grader.judge import grade_submission
from grader.problems import load_problem
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
    print(f"{'example':58} {'floor s':>8} {'expect s':>8} {'grade s':>8} {'grade/floor':>12}")
    ratios = []
    for path in sorted((ROOT / "submissions").glob("*/accepted/*.py")):
        problem = load_problem(path.parent.parent.name)
        with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
            # Trusted inputs the bench itself wrote; pickle never crosses from a submission.
            pickle.dump([c.args for c in problem.tests], f)
            f.flush()
            start = time.perf_counter()
            expected_outputs(problem)
            ref = time.perf_counter() - start
            floors, grades = [], []
            for _ in range(opts.repeats):
                floors.append(floor_seconds(path, problem.spec.function.name, Path(f.name)))
                report = grade_submission(problem, path)
                assert report.verdict == Verdict.ACCEPTED, report.to_dict()
                grades.append(report.duration_s)
        fl, gr = statistics.median(floors), statistics.median(grades)
        ratio = gr / fl
        ratios.append(ratio)
        name = "/".join(path.parts[-3:])
        print(f"{name:58} {fl:8.2f} {ref:8.2f} {gr:8.2f} {ratio:12.2f}")
    print(f"median grade/floor ratio: {statistics.median(ratios):.2f} "
          f"(medians of {opts.repeats} runs each, floor and grade interleaved)")


if __name__ == "__main__":
    main()
