"""Hostile submissions against the real sandbox: a fair verdict each, nothing left behind."""

from __future__ import annotations

import json
import resource
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from grader.judging.judge import grade_submission
from grader.model.problems import Problem
from grader.sandbox.protocol import Sandbox
from grader.verdict import Verdict
from tests import specs
from tests.integration.backends import local_all_docker_some

ROOT = Path(__file__).resolve().parents[2]

CORRECT = specs.CORRECT


# Every attack runs against both backends: `sandbox` is parametrised in conftest.py.
CURRENT: dict[str, Sandbox] = {}


@pytest.fixture(autouse=True)
def _backend(sandbox: Sandbox) -> None:
    CURRENT["sandbox"] = sandbox


def grade(problem: Problem, tmp_path: Path, body: str, **subst: object) -> tuple[Verdict, str]:
    path = tmp_path / "attack.py"
    text = CORRECT + body
    for key, value in subst.items():
        text = text.replace("{" + key + "}", str(value))
    path.write_text(text)
    report = grade_submission(problem, path, CURRENT["sandbox"])
    messages = " | ".join(t.message for t in report.tests)
    return report.verdict, messages


pytestmark = pytest.mark.usefixtures("clean_after")


def test_cannot_read_reference_specs_or_examples(fast_problem: Problem, tmp_path: Path) -> None:
    verdict, msg = grade(fast_problem, tmp_path, '''
import os
SECRETS = ["{ROOT}/reference/reinforce_grad.py", "{ROOT}/problems/reinforce_grad/problem.yaml",
           "{ROOT}/submissions", "{FAST}/reference/reinforce_grad.py", "/judge/../reference"]
def reinforce_grad(seed, logits, reward_table, n_samples):
    for s in SECRETS:
        if os.path.exists(s):
            raise RuntimeError("LEAK " + s)
    return correct(seed, logits, reward_table, n_samples)
''', ROOT=ROOT, FAST=fast_problem.root)
    assert verdict == Verdict.ACCEPTED, msg


def test_no_network_even_to_loopback(fast_problem: Problem, tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list[object] = []
    stop = threading.Event()

    def listen() -> None:
        for _ in range(300):  # bounded: at most ~60 s
            if stop.is_set():
                return
            try:
                accepted.append(server.accept())
            except TimeoutError:
                continue

    t = threading.Thread(target=listen)
    t.start()
    try:
        verdict, msg = grade(fast_problem, tmp_path, '''
import socket
def reinforce_grad(seed, logits, reward_table, n_samples):
    try:
        socket.create_connection(("127.0.0.1", {PORT}), timeout=1).close()
    except OSError:
        return correct(seed, logits, reward_table, n_samples)
    raise RuntimeError("connected")
''', PORT=port)
    finally:
        stop.set()
        t.join()
        server.close()
    assert verdict == Verdict.ACCEPTED, msg
    assert accepted == []


def test_cannot_write_outside_scratch(fast_problem: Problem, tmp_path: Path) -> None:
    target = fast_problem.root / "problems" / "reinforce_grad" / "pwned"
    verdict, msg = grade(fast_problem, tmp_path, '''
import os
def reinforce_grad(seed, logits, reward_table, n_samples):
    open("/tmp/scratch_ok", "w").write("fine")
    for p in ["{TARGET}", "{SUB}", "/usr/pwned", "/judge/runner.py", "/submission/x"]:
        try:
            open(p, "w").write("x")
        except OSError:
            continue
        raise RuntimeError("wrote " + p)
    return correct(seed, logits, reward_table, n_samples)
''', TARGET=target, SUB=tmp_path / "attack.py")
    assert verdict == Verdict.ACCEPTED, msg
    assert not target.exists()


def test_fork_storm_is_capped(fast_problem: Problem, tmp_path: Path) -> None:
    verdict, msg = grade(fast_problem, tmp_path, '''
import os, time
def reinforce_grad(seed, logits, reward_table, n_samples):
    n = 0
    try:
        for _ in range(100000):
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            n += 1
    except OSError:
        pass
    if n >= 1000:
        raise RuntimeError(f"forked {n}")
    return correct(seed, logits, reward_table, n_samples)
''')
    assert verdict in (Verdict.ACCEPTED, Verdict.RUNTIME_ERROR, Verdict.TIME_LIMIT_EXCEEDED), msg
    assert "forked" not in msg


def test_double_forked_daemon_does_not_outlive(fast_problem: Problem, tmp_path: Path) -> None:
    verdict, msg = grade(fast_problem, tmp_path, '''
import os, time
def reinforce_grad(seed, logits, reward_table, n_samples):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(600)
        os._exit(0)
    return correct(seed, logits, reward_table, n_samples)
''')
    assert verdict == Verdict.ACCEPTED, msg
    # clean_after asserts no process of the sandbox uid remains


def test_killing_everything_it_can_spares_the_judge(fast_problem: Problem, tmp_path: Path) -> None:
    verdict, msg = grade(fast_problem, tmp_path, '''
import os, signal
def reinforce_grad(seed, logits, reward_table, n_samples):
    os.kill(-1, signal.SIGKILL)
    return correct(seed, logits, reward_table, n_samples)
''')
    assert verdict == Verdict.RUNTIME_ERROR, msg


def test_stdout_flood_is_drained_not_fatal(roomy_problem: Problem, tmp_path: Path) -> None:
    # roomy_problem: draining 256 MiB through Docker's attach stream took over fast_problem's 8 s
    # once on a loaded machine; the verdict is about the flood, not the time.
    path = tmp_path / "attack.py"
    path.write_text(CORRECT + '''
import os
CHUNK = b"x" * (1 << 20)
def reinforce_grad(seed, logits, reward_table, n_samples):
    if seed == 0.0:
        # 256 MiB, 4,000 times what is kept. Docker's attach stream moves ~130 MB/s here (the
        # old code and the new alike), so 1 GiB took the whole 8 s test limit on its own.
        for _ in range(256):
            os.write(1, CHUNK)
    return correct(seed, logits, reward_table, n_samples)
''')
    report = grade_submission(roomy_problem, path, CURRENT["sandbox"])
    assert report.verdict == Verdict.ACCEPTED
    assert len(report.output) <= 2 * 64 * 1024


def test_ignoring_sigterm_in_a_loop_is_killed(fast_problem: Problem, tmp_path: Path) -> None:
    verdict, msg = grade(fast_problem, tmp_path, '''
import signal
def reinforce_grad(seed, logits, reward_table, n_samples):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass
''')
    assert verdict == Verdict.TIME_LIMIT_EXCEEDED, msg


# Docker: the exit that skips the runner's own exit path; sys.exit is the runner's to catch.
@pytest.mark.parametrize(("sandbox", "exit_call"), local_all_docker_some(
    ["sys.exit(0)", "os._exit(0)"], ["os._exit(0)"]), indirect=["sandbox"])
def test_exiting_early_is_not_accepted(fast_problem: Problem, tmp_path: Path,
                                       exit_call: str) -> None:
    verdict, msg = grade(fast_problem, tmp_path, f'''
import os, sys
def reinforce_grad(seed, logits, reward_table, n_samples):
    {exit_call}
''')
    assert verdict == Verdict.RUNTIME_ERROR, msg


def test_forging_the_result_channel_is_not_accepted(fast_problem: Problem, tmp_path: Path) -> None:
    verdict, msg = grade(fast_problem, tmp_path, '''
import os
def reinforce_grad(seed, logits, reward_table, n_samples):
    for fd in range(3, 64):
        try:
            os.write(fd, b'{"event": "done", "nbytes": 0}\\n')
        except OSError:
            pass
    os._exit(0)
''')
    assert verdict != Verdict.ACCEPTED, msg


def test_monkeypatching_numpy_changes_nothing(fast_problem: Problem, tmp_path: Path) -> None:
    verdict, msg = grade(fast_problem, tmp_path, '''
import numpy as np
np.allclose = lambda *a, **k: True
np.abs = lambda x: x * 0
np.testing.assert_allclose = lambda *a, **k: None
def reinforce_grad(seed, logits, reward_table, n_samples):
    return np.zeros_like(logits)
''')
    assert verdict == Verdict.WRONG_ANSWER, msg


def test_object_array_with_reduce_is_never_unpickled(fast_problem: Problem,
                                                      tmp_path: Path) -> None:
    marker = tmp_path / "reduced"
    verdict, msg = grade(fast_problem, tmp_path, '''
import numpy as np
class Evil:
    def __reduce__(self):
        return (open, ("{MARKER}", "w"))
def reinforce_grad(seed, logits, reward_table, n_samples):
    return np.array([Evil(), Evil()], dtype=object)
''', MARKER=marker)
    assert verdict == Verdict.RUNTIME_ERROR, msg
    assert "not numbers" in msg
    assert not marker.exists()


def test_two_gigabyte_result_is_refused(roomy_problem: Problem, tmp_path: Path) -> None:
    # np.zeros: 2 GiB of untouched zero pages, so only copying or sending them costs memory. The
    # verdict is about size; filling 2 GiB (np.ones) took 24 s of page faults on a CI machine
    # whose host hands memory back and forth, and ended as a timeout.
    verdict, msg = grade(roomy_problem, tmp_path, '''
import numpy as np
def reinforce_grad(seed, logits, reward_table, n_samples):
    return np.zeros(2 * 1024**3, dtype=np.uint8)
''')
    assert verdict in (Verdict.OUTPUT_LIMIT_EXCEEDED, Verdict.MEMORY_LIMIT_EXCEEDED), msg


def test_sleeping_at_import_times_out(fast_problem: Problem, tmp_path: Path) -> None:
    verdict, msg = grade(fast_problem, tmp_path, '''
import time
time.sleep(3600)
def reinforce_grad(seed, logits, reward_table, n_samples):
    return correct(seed, logits, reward_table, n_samples)
''')
    assert verdict == Verdict.TIME_LIMIT_EXCEEDED, msg


def test_forged_accepted_verdicts_are_not_believed(fast_problem: Problem,
                                                   tmp_path: Path) -> None:
    verdict, msg = grade(fast_problem, tmp_path, '''
import os
def reinforce_grad(seed, logits, reward_table, n_samples):
    for fd in range(3, 64):
        for test in range(3):
            try:
                os.write(fd, ('{"event": "error", "test": %d, "verdict": "accepted", '
                              '"message": "", "nbytes": 0}\\n' % test).encode())
            except OSError:
                pass
    return logits * 0
''')
    assert verdict == Verdict.RUNTIME_ERROR, msg


MALFORMED = [
    '{"event": "result", "test": 0, "dtype": "no-such-dtype", "shape": [2], "nbytes": 0}',
    '{"event": "result", "test": 0, "nbytes": 0}',
    '{"event": "result", "test": 0, "dtype": "<f4", "shape": [3], "nbytes": -5}',
    '{"event": "error", "test": 0, "verdict": "not-a-verdict", "nbytes": 0}',
]


# Docker: one frame forged through its socket; how each is judged is the host's alone.
@pytest.mark.parametrize(("sandbox", "header"), local_all_docker_some(
    MALFORMED, MALFORMED[:1], ids=lambda h: str(MALFORMED.index(h))), indirect=["sandbox"])
def test_malformed_forged_frames_get_a_verdict(fast_problem: Problem, tmp_path: Path,
                                               header: str) -> None:
    verdict, msg = grade(fast_problem, tmp_path, f'''
import os
def reinforce_grad(seed, logits, reward_table, n_samples):
    for fd in range(3, 64):
        try:
            os.write(fd, b{header!r} + b"\\n")
        except OSError:
            pass
    os._exit(0)
''')
    assert verdict == Verdict.RUNTIME_ERROR, msg


# Docker: one dtype across its socket; the report of each is the host's alone.
@pytest.mark.parametrize(("sandbox", "dtype"), local_all_docker_some(
    ["longdouble", "float16", ">f8", "bool"], ["longdouble"]), indirect=["sandbox"])
def test_an_exotic_dtype_gets_a_verdict_and_a_report_that_serialises(
        fast_problem: Problem, tmp_path: Path, dtype: str) -> None:
    """Numbers of any width and byte order cross the channel; the report shows what came back,
    and its JSON (what `--format json` prints and the service stores) must still be valid."""
    path = tmp_path / "exotic.py"
    path.write_text(f'''
import numpy as np
def reinforce_grad(seed, logits, reward_table, n_samples):
    return np.ones(np.shape(logits), dtype=np.dtype("{dtype}"))
''')
    report = grade_submission(fast_problem, path, CURRENT["sandbox"])
    assert report.verdict == Verdict.WRONG_ANSWER
    full = json.loads(json.dumps(report.to_dict(reveal=True), allow_nan=False))
    assert "dtype" in full["tests"][0]["message"]
    shown = full["tests"][0]["shown"]
    assert np.asarray(shown["got"], dtype=np.float64).shape == np.shape(shown["expected"])


@pytest.mark.parametrize("sandbox", ["local"], indirect=True)
def test_a_result_trickled_a_byte_at_a_time_costs_the_judge_little(fast_problem: Problem,
                                                                   tmp_path: Path) -> None:
    """A forged result header, then its payload a byte every 0.2 ms: the jail uses little CPU, so
    only the 3 x wall cap ends the call, and each byte used to wake the judge, which parsed the
    ~4 KB header again: over half a core of the judge's CPU for the whole 24 s."""

    def cpu() -> float:
        used = resource.getrusage(resource.RUSAGE_SELF)
        return used.ru_utime + used.ru_stime

    start, before = time.monotonic(), cpu()
    verdict, msg = grade(fast_problem, tmp_path, '''
import fcntl, json, os, time
def reinforce_grad(seed, logits, reward_table, n_samples):
    fds = [fd for fd in range(3, 64) if os.path.exists(f"/proc/self/fd/{fd}")
           and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
           and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY]
    n = 1 << 20
    header = {"event": "result", "test": 0, "dtype": "<u1", "shape": [n], "pad": "a" * 3700,
              "nbytes": n}
    for fd in fds:
        os.write(fd, json.dumps(header).encode() + b"\\n")
    while True:
        for fd in fds:
            os.write(fd, b"\\0")
        time.sleep(0.0002)
''')
    judge_s, wall_s = cpu() - before, time.monotonic() - start
    assert verdict == Verdict.TIME_LIMIT_EXCEEDED, msg
    assert judge_s < 0.25 * wall_s, f"the judge used {judge_s:.1f} s of CPU in {wall_s:.1f} s"
