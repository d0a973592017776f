"""A control group per jail: memory (its processes and their tmpfs pages together), pids and one
core's worth of CPU for a whole submission, as DOMjudge's runguard does.

cgroup v1 (a hierarchy per controller, as on hybrid hosts) and v2 (one unified tree) both work.
The jail enters its group through a tiny shell that writes its own pid into the group and then
execs the jail: every descendant is born inside, and no Python runs between fork and exec (the
judge has imported jax, so preexec_fn could deadlock).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox.reaping import kill_all

CONTROLLERS = ("memory", "pids", "cpu")
# v1 only, where mounted: the group's CPU time, which the learner's time limits charge (v2's
# cpu.stat has it always; without it they fall back to the wall clock).
ACCOUNTING = "cpuacct"
CPU_PERIOD_US = 100_000  # one core's worth: a quota of one period per period

class Unavailable(Exception):
    """No group can be made for jails here; the message says what is missing."""


def write_value(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def read_value(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _keyed(text: str) -> dict[str, int]:
    """`key value` lines (memory.oom_control, memory.events, cpu.stat) as a dict."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


@dataclass
class Group:
    version: int
    dirs: tuple[Path, ...]
    _closed: threading.Event = field(default_factory=threading.Event)
    _oom: bool = False

    def _file(self, name: str) -> Path | None:
        """The control file `name` in whichever of the group's dirs has it (v1: per controller)."""
        return next((d / name for d in self.dirs if (d / name).exists()), None)

    def _set(self, name: str, value: str, required: bool = True) -> None:
        # Files that only some kernels have (swap) are set where the parent has them; a fresh
        # group has the same files as its parent.
        for d in self.dirs:
            if (d / name).exists() or (d.parent / name).exists():
                write_value(d / name, value)
                return
        if required:
            raise OSError(f"no control file {name}")

    def limit(self, memory_bytes: int, max_processes: int) -> None:
        mem = str(memory_bytes)
        if self.version == 1:
            self._set("memory.limit_in_bytes", mem)
            self._set("memory.memsw.limit_in_bytes", mem, required=False)  # no swap beyond it
            self._set("pids.max", str(max_processes))
            self._set("cpu.cfs_period_us", str(CPU_PERIOD_US))
            self._set("cpu.cfs_quota_us", str(CPU_PERIOD_US))
        else:
            self._set("memory.max", mem)
            self._set("memory.swap.max", "0", required=False)
            self._set("memory.oom.group", "1", required=False)  # an OOM kill ends the whole jail
            self._set("pids.max", str(max_processes))
            self._set("cpu.max", f"{CPU_PERIOD_US} {CPU_PERIOD_US}")

    def join_command(self) -> list[str]:
        """A prefix for the jail's command: a shell that enters the group, then execs the rest."""
        writes = " && ".join(f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))}"
                             for d in self.dirs)
        return ["/bin/sh", "-c", f'{writes} && exec "$@"', "jaxjudge-cgroup"]

    def oom(self) -> bool:
        """Whether the kernel killed a process of the group for being over its memory limit."""
        if self._oom:
            return True
        if self.version == 2:
            events = _keyed(read_value(self.dirs[0] / "memory.events"))
            self._oom = events.get("oom_kill", 0) > 0 or events.get("oom_group_kill", 0) > 0
            return self._oom
        path = self._file("memory.oom_control")
        control = _keyed(read_value(path)) if path else {}
        if "oom_kill" in control:  # kernels since 4.13
            self._oom = control["oom_kill"] > 0 or control.get("under_oom", 0) > 0
        else:
            failcnt, peak, limit = (self._number(n) for n in (
                "memory.failcnt", "memory.max_usage_in_bytes", "memory.limit_in_bytes"))
            self._oom = control.get("under_oom", 0) > 0 or (failcnt > 0 and peak >= limit > 0)
        return self._oom

    def cpu_seconds(self) -> float | None:
        """CPU time the group's processes have used (user and system, the dead ones' too), or
        None where this host does not account it."""
        if self.version == 2:
            usage = _keyed(read_value(self.dirs[0] / "cpu.stat")).get("usage_usec")
            return None if usage is None else usage / 1e6
        usage_ns = self._integer("cpuacct.usage")
        return None if usage_ns is None else usage_ns / 1e9

    def _integer(self, name: str) -> int | None:
        path = self._file(name)
        text = read_value(path).strip() if path else ""
        return int(text) if text.isdigit() else None

    def _number(self, name: str) -> int:
        return self._integer(name) or 0

    def watch(self, interval: float = 0.05) -> None:
        """Until closed: when the kernel OOM-kills one process, kill the rest of the group too
        (v2 does this itself with memory.oom.group), so the submission ends as over its memory
        limit instead of going on without the child that was killed."""

        def loop() -> None:
            while not self._closed.wait(interval):
                if self.oom():
                    self.kill()
                    return

        threading.Thread(target=loop, name="jaxjudge-oom-watch", daemon=True).start()

    def pids(self) -> list[int]:
        out: set[int] = set()
        for d in self.dirs:
            out.update(int(p) for p in read_value(d / "cgroup.procs").split() if p.isdigit())
        return sorted(out)

    def kill(self) -> None:
        """SIGKILL everything in the group, until it is empty (bounded)."""
        if self.version == 2 and (self.dirs[0] / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                write_value(self.dirs[0] / "cgroup.kill", "1")
        kill_all(self.pids, 200, 0.01)

    def close(self) -> None:
        """Kills what is left and removes the group's directories (bounded retries: a killed
        process leaves its group a moment after the signal)."""
        self._closed.set()
        self.kill()
        for d in self.dirs:
            for attempt in range(100):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if attempt == 99:
                        print(f"jaxjudge: warning: cannot remove cgroup {d}: {exc}",
                              file=sys.stderr)
                    else:
                        self.kill()
                        time.sleep(0.05)


