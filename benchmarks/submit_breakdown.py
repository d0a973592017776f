"""Where a `jaxjudge submit`'s seconds go, from the database's own timestamps: the client's start
to the row (Python, the client, the POST), the queue (the grader's poll), the grade (`grade_s`)
and the verdict to the client's exit. One `jaxjudge serve --jobs 1` with a ready jail, accepted
fresh copies of one file, a pause between submits (as a learner's would be).

    PYTHONPATH=. .venv/bin/python benchmarks/submit_breakdown.py --repeats 7
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.integration.service import ROOT, Server, create_user, env, jaxjudge

FILE = ROOT / "submissions" / "reinforce_grad" / "accepted" / "vmap_grad_log_softmax.py"
PARTS = ("total", "client to row", "queue", "grade", "verdict to exit")


def _at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between submits")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jaxjudge-breakdown-") as tmp:
        work = Path(tmp)
        data = work / "data"
        data.mkdir()
        token = create_user(data, ROOT, "learner")
        server = Server(data, ROOT, jobs=1, rate_limit=1000, run_limit=1000, ready_jails=1)
        spans: list[tuple[float, float]] = []
        try:
            for i in range(opts.repeats + 1):  # the first loads the grader's caches: not kept
                path = work / f"submission-{i}.py"
                path.write_text(FILE.read_text() + f"\n# {time.time_ns()} {i}\n")
                start = time.time()
                subprocess.run(jaxjudge("submit", "reinforce_grad", str(path), "--server",
                                        server.url, "--token", token, "--format", "json"),
                               env=env(ROOT), capture_output=True, check=True, timeout=300)
                spans.append((start, time.time()))
                time.sleep(opts.pause)
        finally:
            server.stop()
        with sqlite3.connect(data / "jaxjudge.db") as db:
            rows = db.execute("SELECT created, started, finished, grade_s FROM submissions "
                              "ORDER BY id").fetchall()
    parts: dict[str, list[float]] = {k: [] for k in PARTS}
    for (start, end), (created, started, finished, grade_s) in list(zip(spans, rows,
                                                                        strict=True))[1:]:
        for name, value in zip(PARTS, (end - start, _at(created) - start,
                                       _at(started) - _at(created), grade_s,
                                       end - _at(finished)), strict=True):
            parts[name].append(value)
    print(f"jaxjudge submit, p50 of {opts.repeats}: " + "  ".join(
        f"{name} {statistics.median(values):.3f} s" for name, values in parts.items()))


if __name__ == "__main__":
    main()
