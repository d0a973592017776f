"""A class of submissions: jaxjudge's batch mode against naive sequential grading, same run.

Naive: one fresh unsandboxed python per submission that imports jax and makes every call of the
grade (fixed tests and statistical seeds), no compile cache, one after another - the cost of the
"container or process per submission" graders. Batch: `grade_many` with the warmed compile cache
and --jobs jails, result cache off (every submission really graded). Also single grades of one
accepted example, cold (empty compile cache) and warm.
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

from grader.batch.class_grading import grade_many
from grader.judging.judge import grade_submission, plan
from grader.model.problems import load_problem
from grader.sandbox.local import LocalSandbox
from grader.tools.warm import warm

ROOT = Path(__file__).resolve().parents[1]
NAIVE = """
import pickle, sys, numpy as np, jax
args = pickle.load(open(sys.argv[1], "rb"))
ns = {"__name__": "submission"}
exec(compile(open(sys.argv[2]).read(), sys.argv[2], "exec"), ns)
for a in args:
    np.asarray(ns[sys.argv[3]](**a))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--class-size", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    problem = load_problem("reinforce_grad")
    corpus = sorted((ROOT / "submissions" / "reinforce_grad").glob("[aw]*/*.py"))
    klass = [corpus[i % len(corpus)] for i in range(opts.class_size)]
    fn = problem.spec.function.name
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "xla"
        os.environ["JAXJUDGE_COMPILE_CACHE"] = str(cache)
        example = ROOT / "submissions/reinforce_grad/accepted/onehot_minus_softmax.py"
        cold = grade_submission(problem, example, LocalSandbox(compile_cache=cache)).duration_s
        warm(problem)
        warm_s = statistics.median(
            grade_submission(problem, example, LocalSandbox(compile_cache=cache)).duration_s
            for _ in range(opts.repeats))
        print(f"single grade of {example.name}: cold {cold:.2f} s, warm {warm_s:.2f} s "
              f"(median of {opts.repeats})")

        args_file = Path(tmp) / "args.pkl"
        args_file.write_bytes(pickle.dumps(plan(problem).calls))  # trusted, the bench's own
        start = time.perf_counter()
        env = {**os.environ, "JAX_PLATFORMS": "cpu"}
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        for path in klass:
            subprocess.run([sys.executable, "-c", NAIVE, str(args_file), str(path), fn],
                           capture_output=True, env=env, check=False, timeout=300)
        naive = time.perf_counter() - start

        start = time.perf_counter()
        reports = grade_many(problem, klass, jobs=os.cpu_count() or 1, use_cache=False)
        batch = time.perf_counter() - start
    n = len(klass)
    print(f"class of {n} ({len(corpus)} examples repeated), {os.cpu_count()} cores")
    print(f"  naive sequential: {naive:7.1f} s  {n / naive:.2f} submissions/s")
    print(f"  jaxjudge batch:   {batch:7.1f} s  {n / batch:.2f} submissions/s "
          f"({len(reports)} reports)")
    print(f"  throughput ratio batch/naive: {naive / batch:.2f}")


if __name__ == "__main__":
    main()
