"""Submissions graded per minute with 1 and 2 grader processes, same run, against PostgreSQL
and Redis; the ratio says how far one more grader (on this machine: a second core) carries.

Each round: a fresh database, a web-only server, N graders (`jaxjudge worker --jobs 1`) that
have beaten their first heartbeat, then a batch of accepted submissions of the real problem
from several learners at once; throughput = batch / (first submit → last verdict)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from grader.service.store.models import Grader
from tests.integration.scale import Cluster
from tests.integration.servers import Postgres, Redis
from tests.integration.service import ROOT, env, jaxjudge, submit, wait_for

FILES = sorted((ROOT / "submissions" / "reinforce_grad" / "accepted").glob("*.py"))


def graders_up(c: Cluster, n: int) -> bool:
    with c.db.session() as s:
        return (s.scalar(select(func.count()).select_from(Grader)) or 0) >= n


def one_round(pg: Postgres, redis: Redis, graders: int, batch: int, users: int) -> float:
    """Submissions per minute for one batch with `graders` grader processes."""
    with tempfile.TemporaryDirectory(prefix="jaxjudge-bench-") as tmp:
        c = Cluster(pg, redis, ROOT, Path(tmp), lease_seconds=60, rate_limit=1000,
                    queued_cap=1000)
        try:
            tokens = [c.token(f"learner{i}") for i in range(users)]
            for _ in range(graders):
                c.worker()
            wait_for("the graders' first heartbeat", lambda: graders_up(c, graders), 180)
            sources = [FILES[i % len(FILES)].read_text() for i in range(batch)]
            start = time.monotonic()

            def send(i: int) -> int:
                with c.client(tokens[i % users]) as http:
                    return submit(http, sources[i])

            with ThreadPoolExecutor(users) as pool:
                list(pool.map(send, range(batch)))
            rows = c.wait_all_done(batch, timeout=1800)
            elapsed = time.monotonic() - start
            assert all(r.verdict == "accepted" for r in rows), [r.verdict for r in rows]
            grade_s = statistics.median(r.grade_s or 0.0 for r in rows)
        finally:
            c.close()
    rate = batch / elapsed * 60
    # The machine's load says how much of its 2 cores other work took meanwhile.
    print(f"  {graders} grader(s): {batch} graded in {elapsed:.1f} s = {rate:.1f}/min "
          f"(median grade {grade_s:.2f} s; load average {os.getloadavg()[0]:.1f})", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=16, help="submissions per round")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per grader count")
    parser.add_argument("--users", type=int, default=8)
    args = parser.parse_args()
    # Trusted warm-up of the compile cache, as `make serve` does: graders then only read it.
    subprocess.run(jaxjudge("warm", "reinforce_grad"), env=env(ROOT), check=True,
                   capture_output=True, timeout=900)
    pg, redis = Postgres(), Redis()
    try:
        rates: dict[int, list[float]] = {1: [], 2: []}
        for r in range(args.rounds):  # interleaved: a load spike from elsewhere hits both
            print(f"round {r + 1}/{args.rounds}", flush=True)
            for graders in (1, 2):
                rates[graders].append(one_round(pg, redis, graders, args.batch, args.users))
    finally:
        redis.close()
        pg.close()
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"service throughput (PostgreSQL + Redis, real reinforce_grad, median of "
          f"{args.rounds}): 1 grader {one:.1f}/min, 2 graders {two:.1f}/min, "
          f"ratio {two / one:.2f} (target >= 1.5)")
    print(f"per-submission cost: {60 / one:.2f} grader-seconds (1 grader), "
          f"{2 * 60 / two:.2f} (each of 2)")


if __name__ == "__main__":
    main()
