"""Grading wall time of each accepted example next to the floor measured in the same run.

Floor: a fresh unsandboxed `python` that imports jax and calls the same file on the same inputs.
The judge's time is split into computing expected outputs (reference) and the sandboxed run.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.expected import reference_output
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
    subprocess.run([sys.executable, "-c", FLOOR, str(args_file), str(path), fn], check=True,
                   capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    print(f"{'example':58} {'floor s':>8} {'ref s':>6} {'grade s':>8} {'sandbox/floor':>14}")
    ratios = []
    for path in sorted((ROOT / "submissions").glob("*/accepted/*.py")):
        problem = load_problem(path.parent.parent.name)
        with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
            # Trusted inputs the bench itself wrote; pickle never crosses from a submission.
            pickle.dump([c.args for c in problem.tests], f)
            f.flush()
            floors, refs, grades = [], [], []
            for _ in range(opts.repeats):
                floors.append(floor_seconds(path, problem.spec.function.name, Path(f.name)))
                start = time.perf_counter()
                for case in problem.tests:
                    reference_output(problem, case)
                refs.append(time.perf_counter() - start)
                report = grade_submission(problem, path)
                assert report.verdict == Verdict.ACCEPTED, report.to_dict()
                grades.append(report.duration_s)
        fl, rf, gr = (statistics.median(x) for x in (floors, refs, grades))
        ratio = (gr - rf) / fl
        ratios.append(ratio)
        name = "/".join(path.parts[-3:])
        print(f"{name:58} {fl:8.2f} {rf:6.2f} {gr:8.2f} {ratio:14.2f}")
    print(f"median sandboxed-run/floor ratio: {statistics.median(ratios):.2f} "
          f"(medians of {opts.repeats} runs each; 'ref s' is the trusted reference's share)")


if __name__ == "__main__":
    main()
