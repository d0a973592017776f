"""A container's overhead per submission next to the local bubblewrap jail's, in the same run.

Both backends grade the same accepted examples with the same warm compile cache; medians of
interleaved repeats. The difference is what a fresh container (create, attach, start, remove)
costs over a fresh bubblewrap jail.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from grader.data.cache import compile_cache_dir
from grader.judging.judge import grade_submission
from grader.model.problems import load_problem
from grader.sandbox.factory import make_sandbox
from grader.tools.warm import warm
from grader.verdict import Verdict

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    print(f"{'example':52} {'local s':>8} {'docker s':>9} {'overhead s':>11} {'ratio':>6}")
    overheads = []
    for problem_id in ("reinforce_grad", "reinforce_baseline_grad", "reparam_grad"):
        problem = load_problem(problem_id)
        warm(problem)
        cache = compile_cache_dir()
        local, docker = make_sandbox("local", cache), make_sandbox("docker", cache)
        for path in sorted((ROOT / "submissions" / problem_id / "accepted").glob("*.py"))[:2]:
            times: dict[str, list[float]] = {"local": [], "docker": []}
            for _ in range(opts.repeats):
                for name, sandbox in (("local", local), ("docker", docker)):
                    report = grade_submission(problem, path, sandbox)
                    assert report.verdict == Verdict.ACCEPTED, (name, report.to_dict())
                    times[name].append(report.duration_s)
            lo, dk = statistics.median(times["local"]), statistics.median(times["docker"])
            overheads.append(dk - lo)
            print(f"{'/'.join(path.parts[-3:]):52} {lo:8.2f} {dk:9.2f} {dk - lo:11.2f} "
                  f"{dk / lo:6.2f}")
    print(f"median container overhead per submission: {statistics.median(overheads):.2f} s")


if __name__ == "__main__":
    main()
