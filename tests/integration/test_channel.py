"""Bytes a submission writes into the judge's result channel: a verdict for the learner, never a
crash of the judge nor a judge_error, through the real sandbox of each backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.judging.judge import grade_submission
from grader.model.problems import Problem
from grader.sandbox.protocol import Sandbox
from grader.verdict import Verdict
from tests.integration.backends import local_all_docker_some

pytestmark = pytest.mark.usefixtures("clean_after")

# Into every descriptor it holds that takes a write: the result channel is one of them.
EVERY_FD = '''
import os
import numpy as np

def everywhere(data):
    for name in os.listdir("/proc/self/fd"):
        try:
            os.write(int(name), data)
        except OSError:
            pass
'''


def grade(problem: Problem, tmp_path: Path, sandbox: Sandbox, body: str) -> tuple[str, str]:
    path = tmp_path / "attack.py"
    path.write_text(EVERY_FD + body)
    report = grade_submission(problem, path, sandbox)
    return report.verdict, " | ".join(t.message for t in report.tests)


def test_a_bracket_bomb_is_a_protocol_violation(
        hidden_problem: Problem, tmp_path: Path, sandbox: Sandbox) -> None:
    verdict, msg = grade(hidden_problem, tmp_path, sandbox, '''
def reinforce_grad(seed, logits, reward_table, n_samples):
    everywhere(b"[" * 3000 + b"\\n")
    return np.zeros_like(logits)
''')
    assert verdict == Verdict.RUNTIME_ERROR, msg
    assert "result channel" in msg


OUT_OF_ORDER = [
    b'{"event": "done", "test": 0, "nbytes": 0}\n',  # a done that carries a test
    b'{"event": "done", "nbytes": 0}\n',  # done before every call was made
    b'{"event": "ready", "nbytes": 0}\n',  # a second ready
    b'{"event": "result", "test": 3, "dtype": "<f4", "shape": [1], "nbytes": 4}\n\0\0\0\0',
    b'{"event": "more", "nbytes": 0}\n',  # asking early for the hidden inputs
    b'{"event": "skipped", "test": 1, "nbytes": 0}\n',  # skipping a call of no failed check
]


# Docker: the one frame that asks its socket early for the hidden inputs; the order of the
# others is checked by the host alone, as for the local backend.
@pytest.mark.parametrize(("sandbox", "frame"), local_all_docker_some(
    OUT_OF_ORDER, OUT_OF_ORDER[4:5], ids=lambda f: str(OUT_OF_ORDER.index(f))),
    indirect=["sandbox"])
def test_frames_out_of_order_are_the_learners_doing(
        hidden_problem: Problem, tmp_path: Path, sandbox: Sandbox, frame: bytes) -> None:
    verdict, msg = grade(hidden_problem, tmp_path, sandbox, f'''
def reinforce_grad(seed, logits, reward_table, n_samples):
    everywhere({frame!r})
    return np.zeros_like(logits)
''')
    assert verdict == Verdict.RUNTIME_ERROR, msg
    assert "result channel" in msg


def test_a_failed_check_stops_calling(hidden_problem: Problem, tmp_path: Path,
                                      sandbox: Sandbox) -> None:
    """Every call raises: each fixed test is called, the check only once (its first call
    decides it), so a hostile submission cannot hold a grader for a check's every seed."""
    path = tmp_path / "raises.py"
    path.write_text('''
CALLS = []
def reinforce_grad(seed, logits, reward_table, n_samples):
    CALLS.append(seed)
    print("CALL", len(CALLS), flush=True)
    raise RuntimeError("no")
''')
    report = grade_submission(hidden_problem, path, sandbox)
    check = next(t for t in report.tests if t.name == "unbiased")
    assert check.verdict == Verdict.RUNTIME_ERROR
    assert check.message.startswith("seed 1000000:")
    printed = report.output + report.hidden_output
    assert "CALL 5\n" in printed and "CALL 6\n" not in printed  # 4 tests + 1 of 20 seeds


def test_running_out_of_memory_ends_the_run(hidden_problem: Problem, tmp_path: Path,
                                            sandbox: Sandbox) -> None:
    """Every call filling memory until MemoryError held a grader for each call in turn; the
    first one now ends the submission, as an OOM kill by the cgroup does."""
    path = tmp_path / "hoards.py"
    path.write_text('''
import time
CALLS = []
def reinforce_grad(seed, logits, reward_table, n_samples):
    CALLS.append(seed)
    print("CALL", len(CALLS), flush=True)
    time.sleep(0.5)  # as filling memory takes time: the judge ends the jail meanwhile
    raise MemoryError("pretend")
''')
    report = grade_submission(hidden_problem, path, sandbox)
    assert [t.verdict for t in report.tests] == [Verdict.MEMORY_LIMIT_EXCEEDED] * 5
    assert "MemoryError: pretend" in report.tests[0].message  # the learner's own trace
    assert {t.message for t in report.tests[1:]} <= {
        "not run: an earlier call ran out of memory", "not run: another test ended the submission"}
    printed = report.output + report.hidden_output
    # The runner may start the next call before the kill lands; never the 25 of a full run.
    assert "CALL 1\n" in printed and "CALL 3\n" not in printed


def test_a_compile_error_is_told_once(hidden_problem: Problem, tmp_path: Path,
                                      sandbox: Sandbox) -> None:
    path = tmp_path / "broken.py"
    path.write_text("def reinforce_grad(seed, logits, reward_table, n_samples)\n    return 0\n")
    report = grade_submission(hidden_problem, path, sandbox)
    assert [t.verdict for t in report.tests] == [Verdict.COMPILE_ERROR] * 5
    assert sum("SyntaxError" in t.message for t in report.tests) == 1
    assert all(t.message == "not run: see shown_first" for t in report.tests[1:])
