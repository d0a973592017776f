"""Jails started ahead: what they save, each figure against its baseline in the same run.

1. Time to `ready` (the runner has started Python, imported jax and read its header): a jail
   started for its job (bubblewrap), a ready jail (started ahead, given its job once idle), a
   Docker container started for its job and a ready one (skipped without Docker).
2. One grader's throughput (`jaxjudge serve --jobs 1`, SQLite): a batch of accepted submissions
   with JAXJUDGE_READY_JAILS=0 and =1, rounds interleaved (target ratio >= 1.3).
3. `jaxjudge submit`-like latency (HTTP submit to verdict, the grader idle, its jail ready)
   against `jaxjudge grade` of the same file, interleaved pairs (target ratio <= 0.6).
4. `jaxjudge grade` of that file with --backend local and --backend docker, in turns.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.pairs import interleaved
from grader.data.cache import compile_cache_dir
from grader.judging.execution import make_job
from grader.judging.judge import plan
from grader.model.problems import load_problem
from grader.sandbox.capture import Capture
from grader.sandbox.container import DockerSandbox
from grader.sandbox.local import LocalSandbox
from grader.sandbox.protocol import Job, Sandbox
from grader.sandbox.ready import LimitsKey
from tests.integration.service import ROOT, Server, create_user, env, events, jaxjudge, submit

PROBLEM = "reinforce_grad"
FILE = ROOT / "submissions" / PROBLEM / "accepted" / "vmap_grad_log_softmax.py"


def to_ready(sandbox: Sandbox, job: Job) -> float:
    """Seconds from asking for the run to its `ready` event; the run is then abandoned."""
    start = time.perf_counter()
    events = sandbox.run(job, Capture())
    try:
        for event in events:
            if event.kind == "ready":
                return time.perf_counter() - start
        raise AssertionError("the jail never said ready")
    finally:
        events.close()  # type: ignore[attr-defined]


def startup(repeats: int) -> None:
    problem = load_problem(PROBLEM)
    p = plan(problem)
    job = make_job(problem, FILE, p.calls, p.public, p.groups)
    boxes: dict[str, Sandbox] = {"started for its job": LocalSandbox(
        compile_cache=compile_cache_dir())}
    ready = LocalSandbox(compile_cache=compile_cache_dir(), keep_ready=True)
    boxes["ready (started ahead)"] = ready
    started_ahead: list[LocalSandbox | DockerSandbox] = [ready]
    try:
        boxes["docker container"] = DockerSandbox(compile_cache=compile_cache_dir())
        docker_ready = DockerSandbox(compile_cache=compile_cache_dir(), keep_ready=True)
        boxes["docker ready container"] = docker_ready
        started_ahead.append(docker_ready)
    except Exception as exc:  # no engine or image here: the other two still compare
        print(f"  (docker skipped: {exc})")
    times: dict[str, list[float]] = {name: [] for name in boxes}
    try:
        for _ in range(repeats):
            for name, box in boxes.items():
                if box in started_ahead:
                    box.prepare(LimitsKey.of(job))
                    time.sleep(8)  # an idle grader: its jail has long finished starting
                times[name].append(to_ready(box, job))
    finally:
        for box in started_ahead:
            box.close()
    base = statistics.median(times["started for its job"])
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"  time to ready, {name:22} median {m:5.2f} s  ({m / base:4.2f} x the jail "
              f"started for its job; n={len(ts)})", flush=True)


def throughput(batch: int, ready: bool, source: str) -> float:
    with tempfile.TemporaryDirectory(prefix="jaxjudge-bench-") as tmp:
        data = Path(tmp)
        tokens = [create_user(data, ROOT, f"user{i}") for i in range(4)]
        server = Server(data, ROOT, jobs=1, rate_limit=1000, queued_cap=1000,
                        ready_jails=int(ready))
        try:
            with server.client(tokens[0]) as http:  # the grader's first grade loads its caches
                sid = submit(http, source + "\n# warm-up\n")
                assert [d["verdict"] for e, d in events(http, sid, timeout=900)
                        if e == "done"] == ["accepted"]
            start = time.perf_counter()

            def learner(k: int) -> list[str]:
                with server.client(tokens[k]) as h:
                    ids = [submit(h, source + f"\n# {k} {i}\n") for i in range(k, batch, 4)]
                    return [next(d["verdict"] for e, d in events(h, sid, timeout=1800)
                                 if e == "done") for sid in ids]

            with ThreadPoolExecutor(4) as pool:
                verdicts = [v for vs in pool.map(learner, range(4)) for v in vs]
            elapsed = time.perf_counter() - start
        finally:
            server.stop()
    assert verdicts == ["accepted"] * batch, verdicts
    rate = batch / elapsed * 60
    print(f"  ready jails {'on ' if ready else 'off'}: {batch} graded in {elapsed:6.1f} s = "
          f"{rate:5.2f}/min", flush=True)
    return rate


def latency(repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="jaxjudge-bench-") as tmp:
        data = Path(tmp)
        token = create_user(data, ROOT, "learner")
        server = Server(data, ROOT, jobs=1, rate_limit=1000, ready_jails=1)
        try:
            with server.client(token) as http:
                submit(http, FILE.read_text())  # first grade of the process: expected outputs
                cli, http_s = interleaved(http, PROBLEM, FILE, repeats)
        finally:
            server.stop()
    c50, h50 = statistics.median(cli), statistics.median(http_s)
    print(f"  jaxjudge grade (CLI): p50 {c50:.2f} s; HTTP submit→verdict (ready jail): p50 "
          f"{h50:.2f} s; ratio {h50 / c50:.2f} (target <= 0.6; n={repeats} pairs)")


def backends(repeats: int) -> None:
    """`jaxjudge grade` of one accepted file, --backend local and docker in turns: a whole CLI
    grade (process start, spec, caches, jail or container, the calls)."""
    times: dict[str, list[float]] = {"local": [], "docker": []}
    for _ in range(repeats):
        for backend in times:
            start = time.perf_counter()
            done = subprocess.run(jaxjudge("grade", PROBLEM, str(FILE), "--backend", backend,
                                           "--format", "json"),
                                  env=env(ROOT), capture_output=True, text=True, timeout=600)
            times[backend].append(time.perf_counter() - start)
            assert '"accepted"' in done.stdout, (backend, done.stdout[-2000:], done.stderr)
    lo, dk = statistics.median(times["local"]), statistics.median(times["docker"])
    print(f"  jaxjudge grade --backend local: median {lo:.2f} s; --backend docker: median "
          f"{dk:.2f} s; ratio {dk / lo:.2f} (n={repeats} each, interleaved)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5, help="startup and latency pairs")
    parser.add_argument("--batch", type=int, default=8, help="submissions per throughput run")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds per mode")
    parser.add_argument("--only", action="append",
                        choices=["startup", "throughput", "latency", "backends"],
                        help="measure this part only (repeat for several; default: all)")
    opts = parser.parse_args()
    parts = set(opts.only or ["startup", "throughput", "latency", "backends"])
    subprocess.run(jaxjudge("warm", PROBLEM), env=env(ROOT), check=True, capture_output=True,
                   timeout=900)
    source = FILE.read_text()
    if "startup" in parts:
        print("1. time to ready", flush=True)
        startup(opts.repeats)
    if "throughput" in parts:
        print("2. one grader's throughput", flush=True)
        rates: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(opts.rounds):
            for ready in (False, True):
                rates[ready].append(throughput(opts.batch, ready, source))
        off, on = statistics.median(rates[False]), statistics.median(rates[True])
        print(f"  throughput ratio ready/not: {on / off:.2f} (target >= 1.3; medians of "
              f"{opts.rounds} rounds, {off:.2f} and {on:.2f}/min)")
    if "latency" in parts:
        print("3. submit vs grade", flush=True)
        latency(opts.repeats)
    if "backends" in parts:
        print("4. jaxjudge grade, local and docker", flush=True)
        backends(opts.repeats)


if __name__ == "__main__":
    main()
