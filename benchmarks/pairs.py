"""Latency pairs for the benchmarks: a `jaxjudge grade` and a submission's verdict over HTTP of the
same file, taken in turns."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from tests.integration.service import ROOT, env, events, jaxjudge, submit


def interleaved(http: httpx.Client, problem: str, file: Path,
                repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of `repeats` CLI grades and of as many submit→verdict round trips, one of each in
    turn: the machine's speed drifts (shared, noisy), and a drift must not land on one side only.
    Each submission differs by a comment, so no cache answers it."""
    source = file.read_text()
    cli: list[float] = []
    http_s: list[float] = []
    for i in range(repeats):
        start = time.perf_counter()
        subprocess.run(jaxjudge("grade", problem, str(file), "--format", "json"),
                       env=env(ROOT), check=True, capture_output=True)
        cli.append(time.perf_counter() - start)
        start = time.perf_counter()
        sid = submit(http, source + f"\n# {i}\n")
        verdicts = [d["verdict"] for e, d in events(http, sid) if e == "done"]
        http_s.append(time.perf_counter() - start)
        assert verdicts == ["accepted"], verdicts
    return cli, http_s
