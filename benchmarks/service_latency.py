"""Submit-to-verdict latency over HTTP against `jaxjudge grade` of the same file, same run; then
a burst of 40 submissions from 10 users.

The service's overhead at p50 is (HTTP p50 - CLI p50): the CLI pays interpreter start-up and
imports that a long-running grader does not, so it may well be negative."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.pairs import interleaved
from tests.integration.service import ROOT, Server, create_user, env, events, jaxjudge, submit

FILE = ROOT / "submissions" / "reinforce_grad" / "accepted" / "vmap_grad_log_softmax.py"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--burst-users", type=int, default=10)
    parser.add_argument("--burst-each", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2, help="graders in the server (burst)")
    opts = parser.parse_args()
    subprocess.run(jaxjudge("warm", "reinforce_grad"), env=env(ROOT), check=True,
                   capture_output=True)
    source = FILE.read_text()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        tokens = [create_user(data, ROOT, f"user{i}") for i in range(opts.burst_users)]
        server = Server(data, ROOT, jobs=opts.jobs, rate_limit=1000)
        try:
            with server.client(tokens[0]) as http:
                submit(http, source)  # first grade of the process: expected outputs loaded
                cli, http_s = interleaved(http, "reinforce_grad", FILE, opts.repeats)
            start = time.perf_counter()

            def learner(token: str) -> list[str]:
                with server.client(token) as h:
                    ids = [submit(h, source + f"\n# burst {k}\n") for k in range(opts.burst_each)]
                    return [next(d["verdict"] for e, d in events(h, sid, timeout=900)
                                 if e == "done") for sid in ids]

            with ThreadPoolExecutor(len(tokens)) as pool:
                burst = [v for vs in pool.map(learner, tokens) for v in vs]
            wall = time.perf_counter() - start
        finally:
            server.stop()
    c50, h50 = statistics.median(cli), statistics.median(http_s)
    print(f"jaxjudge grade (CLI):   p50 {c50:.2f} s  p95 {pct(cli, 0.95):.2f} s  "
          f"(n={len(cli)})")
    print(f"HTTP submit→verdict:    p50 {h50:.2f} s  p95 {pct(http_s, 0.95):.2f} s  "
          f"(n={len(http_s)}, 1 grader)")
    paired = statistics.median(h - c for h, c in zip(http_s, cli, strict=True))
    print(f"paired: median of (HTTP - CLI) over the {len(cli)} interleaved pairs {paired:+.2f} s")
    print(f"service overhead at p50: {h50 - c50:+.2f} s (target ≤ 0.3 s); "
          f"ratio HTTP/CLI {h50 / c50:.2f}")
    print(f"burst: {len(burst)} submissions from {len(tokens)} users, "
          f"{sum(v == 'accepted' for v in burst)} accepted, all graded in {wall:.1f} s "
          f"with {opts.jobs} graders")


if __name__ == "__main__":
    main()
