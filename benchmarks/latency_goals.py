"""Issue 22's four latency goals, measured side by side in one run, each printed against its goal.

One exercise (reinforce_grad) and one correct file (its accepted vmap_grad_log_softmax.py), the
compile cache warm for trusted code (`jaxjudge warm`). In each round, in turn and each on a fresh
copy of the file (its bytes differ by a comment naming the run and round, so no result cache
answers):
  - `jaxjudge grade` (the CLI: a process, the spec, the caches, a jail, the calls);
  - `jaxjudge submit` to a real `jaxjudge serve` (one grader, its jail ready, SQLite), the real
    CLI: a process, the upload, the event stream, the report;
  - `otter run -a autograder.zip submission.py` (Otter-Grader, in a venv of this benchmark's own
    under the jaxjudge cache, created on first use): an Otter autograder of the same exercise, the
    same fixed tests' inputs (visible and hidden) against the reference's expected outputs, with
    np.allclose at the spec's tolerance and the dtype and shape checked as the judge does;
  - `jaxjudge submit --run` (a Run: the visible tests and checks only).
Medians of the rounds (>= 7). Then one grader's throughput with JAXJUDGE_READY_JAILS=0 and =1,
rounds interleaved, as benchmarks/ready_jails.py measures it.

What differs between the sides, so the ratios are read right: Otter runs the file unsandboxed in
its own process with JAX's default settings (no persistent compile cache) and has no statistical
checks; `jaxjudge grade` jails the file and also makes the 100 seeded calls the problem's three
statistical checks share (115 calls in all, against Otter's 15).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np

from benchmarks.ready_jails import throughput
from grader.data import cache
from grader.data.expected import expected_outputs
from grader.model.problems import Problem, load_problem
from tests.integration.service import ROOT, Server, create_user, env, jaxjudge

PROBLEM = "reinforce_grad"
FILE = ROOT / "submissions" / PROBLEM / "accepted" / "vmap_grad_log_softmax.py"
OTTER = "otter-grader==7.0.0"
GOALS = {"submit": 0.6, "submit --run": 0.5, "otter": 0.25}  # x `jaxjudge grade` p50 (otter: /)
READY_GOAL = 1.3


# --- Otter-Grader -------------------------------------------------------------------------------

def otter_venv() -> Path:
    """The benchmark's own venv with otter-grader and the project's jax and numpy versions, made
    on first use (never a project dependency). Raises with pip's own words if it cannot be."""
    home = cache.root() / "bench" / "otter-venv"
    python = home / "bin" / "python"
    stamp = home / "installed.txt"
    # ipykernel: Otter runs a .py submission, like a notebook, in a Jupyter kernel ("python3").
    want = " ".join([OTTER, "ipykernel",
                     *(f"{p}=={version(p)}" for p in ("jax", "jaxlib", "numpy"))])
    if stamp.exists() and stamp.read_text() == want:
        return home
    if not python.exists():
        venv.create(home, with_pip=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", *want.split()],
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"pip install {want} failed: {done.stderr.strip()[-1500:]}")
    stamp.write_text(want)
    return home


def _literal(value: object) -> str:
    """A test input or expected output as Python source that rebuilds it exactly."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r}, dtype=np.{value.dtype})"
    return repr(value)


def otter_tests(problem: Problem) -> str:
    """One Otter test file (Otter's Python format) with a case per fixed test of the problem."""
    spec = problem.spec
    fn = spec.entry(None)
    tol = spec.tolerance
    lines = ["from otter.test_files import test_case", "import numpy as np", "",
             "OK_FORMAT = False", f"name = {problem.id!r}", "points = None", ""]
    for case, want in zip(problem.tests, expected_outputs(problem), strict=True):
        assert isinstance(want, np.ndarray), "one array out, as reinforce_grad returns"
        scale = 0.0
        if tol.scale is not None:  # reinforce_grad: max |reward_table|
            scale = float(np.max(np.abs(np.asarray(case.args[tol.scale.arg]))))
        atol = tol.atol + tol.atol_per_scale * scale
        args = ", ".join(f"{k}={_literal(v)}" for k, v in case.args.items())
        lines += [f"@test_case(points=1, hidden={not case.visible})",
                  f"def test_{case.name}({fn.name}):",
                  f"    got = np.asarray({fn.name}({args}))",
                  f"    want = {_literal(want)}",
                  "    assert got.shape == want.shape and got.dtype == want.dtype, "
                  "(got.shape, got.dtype)",
                  f"    assert np.allclose(got, want, rtol={tol.rtol!r}, atol={atol!r})", ""]
    return "\n".join(lines)


def otter_autograder(problem: Problem, work: Path, home: Path) -> Path:
    """autograder.zip for the problem, made by `otter generate` from its tests."""
    src = work / "otter-src"
    (src / "tests").mkdir(parents=True)
    (src / "tests" / f"{problem.id}.py").write_text(otter_tests(problem))
    (src / "requirements.txt").write_text("")
    zip_path = work / "autograder.zip"
    done = subprocess.run([str(home / "bin" / "otter"), "generate", "-o", str(zip_path)], cwd=src,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"otter generate failed: {(done.stdout + done.stderr)[-1500:]}")
    return zip_path


def otter_run(home: Path, autograder: Path, file: Path, out: Path) -> float:
    """Seconds of one `otter run`; asserts every test passed (Otter's results.json)."""
    out.mkdir(exist_ok=True)
    start = time.perf_counter()
    done = subprocess.run([str(home / "bin" / "otter"), "run", "-a", str(autograder),
                           "--no-logo", "-o", str(out), str(file)],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    seconds = time.perf_counter() - start
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    results = json.loads((out / "results.json").read_text())
    scored = [t for t in results["tests"] if "max_score" in t]
    score, total = sum(t["score"] for t in scored), sum(t["max_score"] for t in scored)
    assert score == total > 0, json.dumps(results)[:3000]
    return seconds


# --- jaxjudge ------------------------------------------------------------------------------------

def timed(args: list[str], what: str, ok: set[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, env=env(ROOT), capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    try:
        verdict = json.loads(done.stdout.strip().splitlines()[-1])["verdict"]
    except (IndexError, ValueError, KeyError):
        verdict = None
    assert verdict in ok, (what, done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    return seconds


def p50s(times: dict[str, list[float]]) -> dict[str, float]:
    return {k: statistics.median(v) for k, v in times.items() if v}


def side_by_side(repeats: int, home: Path | None, autograder: Path | None, work: Path,
                 ) -> tuple[dict[str, list[float]], str]:
    """Each side's seconds per round, and why Otter was not measured ("" if it was)."""
    data = work / "data"
    data.mkdir()
    token = create_user(data, ROOT, "learner")
    server = Server(data, ROOT, jobs=1, rate_limit=1000, run_limit=1000, ready_jails=1)
    nonce = f"{os.getpid()}-{time.time_ns()}"
    source = FILE.read_text()
    times: dict[str, list[float]] = {"grade": [], "submit": [], "otter": [], "submit --run": []}
    otter_error = ""
    try:
        def fresh(tag: str, i: int) -> Path:
            path = work / f"{tag}-{i}" / "submission.py"
            path.parent.mkdir()
            path.write_text(source + f"\n# {nonce} {tag} {i}\n")
            return path

        def submit(path: Path, *extra: str) -> list[str]:
            return jaxjudge("submit", PROBLEM, str(path), "--server", server.url, "--token",
                            token, "--format", "json", *extra)

        # The grader's first grade loads its caches and the expected outputs; not timed.
        timed(submit(fresh("warm-up", 0)), "warm-up", {"accepted"})
        steps: dict[str, Callable[[int], float]] = {
            "grade": lambda i: timed(jaxjudge("grade", PROBLEM, str(fresh("grade", i)),
                                              "--format", "json"), "grade", {"accepted"}),
            "submit": lambda i: timed(submit(fresh("submit", i)), "submit", {"accepted"}),
            "otter": lambda i: otter_run(home or Path(), autograder or Path(),
                                         fresh("otter", i), work / f"otter-out-{i}"),
            "submit --run": lambda i: timed(submit(fresh("run", i), "--run"), "submit --run",
                                            {"accepted"}),
        }
        for i in range(repeats):
            for name, step in steps.items():
                if name == "otter" and (otter_error or home is None or autograder is None):
                    continue
                try:
                    times[name].append(step(i))
                except Exception as exc:
                    if name != "otter":
                        raise
                    otter_error = f"otter run failed: {type(exc).__name__}: {exc}"[:3000]
                    times["otter"] = []
            print(f"  round {i + 1}: " + "  ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()
                                                  if v), flush=True)
    finally:
        server.stop()
    return times, otter_error


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7, help="side-by-side rounds (>= 7)")
    parser.add_argument("--batch", type=int, default=8, help="submissions per throughput run")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds per mode")
    parser.add_argument("--no-throughput", action="store_true")
    opts = parser.parse_args()
    subprocess.run(jaxjudge("warm", PROBLEM), env=env(ROOT), check=True, capture_output=True,
                   timeout=900)
    problem = load_problem(PROBLEM)
    with tempfile.TemporaryDirectory(prefix="jaxjudge-goals-") as tmp:
        work = Path(tmp)
        home: Path | None = None
        autograder: Path | None = None
        setup_error = ""
        try:
            home = otter_venv()
            autograder = otter_autograder(problem, work, home)
        except Exception as exc:  # reported, and the other goals still measured
            setup_error = f"{type(exc).__name__}: {exc}"
            home = autograder = None
        print(f"1. side by side, {opts.repeats} rounds (grade, submit, otter run, submit --run)",
              flush=True)
        times, run_error = side_by_side(opts.repeats, home, autograder, work)
        otter_error = setup_error or run_error
    rates: dict[bool, list[float]] = {False: [], True: []}
    if not opts.no_throughput:
        print("2. one grader's throughput, ready jails off and on", flush=True)
        source = FILE.read_text()
        for _ in range(opts.rounds):
            for ready in (False, True):
                rates[ready].append(throughput(opts.batch, ready, source))
    p = p50s(times)
    g = p["grade"]
    print(f"\ngoals (p50s of {opts.repeats} interleaved rounds; `jaxjudge grade` p50 {g:.2f} s)")

    def line(what: str, ratio: float, goal: str, met: bool) -> None:
        print(f"  {what:44} {ratio:5.2f}  goal {goal:7} {'MET' if met else 'NOT MET'}")

    for name in ("submit", "submit --run"):
        r = p[name] / g
        line(f"jaxjudge {name} p50 {p[name]:.2f} s / grade", r, f"<= {GOALS[name]}",
             r <= GOALS[name])
    if "otter" in p:
        r = g / p["otter"]
        line(f"grade / otter run p50 {p['otter']:.2f} s", r, f"<= {GOALS['otter']}",
             r <= GOALS["otter"])
    else:
        print(f"  grade / otter run: NOT MEASURED: {otter_error}")
    if rates[True]:
        off, on = statistics.median(rates[False]), statistics.median(rates[True])
        line(f"throughput ready/not ({on:.2f} / {off:.2f} per min)", on / off,
             f">= {READY_GOAL}", on / off >= READY_GOAL)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
