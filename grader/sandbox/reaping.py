"""Ending a jail: SIGKILL to everything it started, and waiting until none of it is left."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return status.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def alive(pid: int) -> bool:
    """Whether a process `pid` runs (one of another user's too), in this pid namespace."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_all(listed: Callable[[], list[int]], rounds: int, pause: float) -> None:
    """SIGKILL whatever `listed()` names until it names nothing (at most `rounds` rounds: a
    process may fork between the listing and the kill)."""
    for _ in range(rounds):
        pids = listed()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(pause)


def kill_uid(uid: int) -> None:
    """SIGKILL every process of `uid` (one slot's uid serves one submission at a time)."""
    def of_uid() -> list[int]:
        pids = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                with contextlib.suppress(OSError):
                    if d.stat().st_uid == uid:
                        pids.append(int(d.name))
        return pids

    kill_all(of_uid, 20, 0.05)


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the jail's pid-namespace init and to bwrap, then wait until the jail is empty.

    The kernel lets a namespace's init become a zombie only once every other process in the
    namespace is reaped, so "init gone or zombie" means nothing of the submission survives.
    """
    kids = _children(proc.pid)
    inits = kids + [grandchild for kid in kids for grandchild in _children(kid)]
    for pid in [*inits, proc.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not all(_gone(p) for p in inits) and time.monotonic() < deadline:
        time.sleep(0.01)
