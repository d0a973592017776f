"""How long each example (and each hostile pattern) holds a grader, against the bound it must
keep: one test's time limit plus start-up. Fails when any example exceeds it, or when the
memory-limit example takes 30 s or more. The baseline beside each figure is the median time of
the accepted examples, graded in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from grader.data.cache import compile_cache_dir
from grader.judging.judge import grade_submission
from grader.model.problems import load_problem
from grader.sandbox.factory import make_sandbox
from grader.tools.warm import warm

ROOT = Path(__file__).resolve().parents[1]

# Patterns of the integration tests' hostile submissions that cost a grader the most time.
HOSTILE = {
    "allocates_until_memoryerror_every_call": '''
def reinforce_grad(seed, logits, reward_table, n_samples):
    hoard = []
    while True:
        hoard.append(bytearray(64 << 20))
''',
    "fork_storm": '''
import os
def reinforce_grad(seed, logits, reward_table, n_samples):
    while True:
        try:
            os.fork()
        except OSError:
            pass
''',
    "sleeps_at_import": "import time\ntime.sleep(3600)\n",
    "raises_every_call": '''
def reinforce_grad(seed, logits, reward_table, n_samples):
    raise RuntimeError("no")
''',
    "prints_a_gigabyte": '''
import os
def reinforce_grad(seed, logits, reward_table, n_samples):
    for _ in range(1024):
        os.write(1, b"x" * (1 << 20))
    raise RuntimeError("done")
''',
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=1)
    opts = parser.parse_args()
    problem = load_problem("reinforce_grad")
    warm(problem)
    sandbox = make_sandbox("local", compile_cache_dir())
    limits = problem.spec.limits
    bound = limits.time_per_test_s + limits.startup_s
    cases = sorted((ROOT / "submissions").glob("*/*/*.py"))
    scratch = Path(tempfile.mkdtemp(prefix="jaxjudge-bench-"))
    for name, body in HOSTILE.items():
        (scratch / f"{name}.py").write_text(body)
        cases.append(scratch / f"{name}.py")
    print(f"bound per example: time_per_test_s {limits.time_per_test_s:g} + startup_s "
          f"{limits.startup_s:g} = {bound:g} s")
    rows = []
    for path in cases:
        hostile = path.parent == scratch
        target = problem if hostile else load_problem(path.parts[-3])
        times, verdict = [], ""
        for _ in range(opts.repeats):
            start = time.monotonic()
            verdict = str(grade_submission(target, path, sandbox).verdict)
            times.append(time.monotonic() - start)
        label = f"hostile/{path.stem}" if hostile else "/".join(path.parts[-3:])
        rows.append((label, verdict, statistics.median(times)))
    accepted = statistics.median(t for _, v, t in rows if v == "accepted")
    print(f"{'example':62} {'verdict':22} {'median s':>8} {'/ bound':>8} {'/ accepted':>10}")
    worst, failures = 0.0, []
    for label, verdict, took in rows:
        worst = max(worst, took / bound)
        print(f"{label:62} {verdict:22} {took:8.2f} {took / bound:8.2f} {took / accepted:10.2f}")
        if took > bound or (verdict == "memory_limit_exceeded" and took >= 30):
            failures.append(label)
    print(f"median accepted grade {accepted:.2f} s")
    print(f"largest time / bound: {worst:.2f}")
    if failures:
        print("over the bound: " + ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
