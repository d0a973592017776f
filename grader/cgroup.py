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
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import JudgeError

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000  # one core's worth: a quota of one period per period
V2_PARENT = "jaxjudge"  # v2 as root: jails' groups go under <root>/jaxjudge, which has no process
V2_LEAF = "jaxjudge-judge"  # v2 delegated: the judge moves itself here so its group can have jails
WAY_OUT = ("run the judge as root on a host with the memory, pids and cpu cgroup controllers, or "
           "delegate it a cgroup v2 subtree; or accept per-process limits (--per-process-limits "
           "or JAXJUDGE_LIMITS=per-process), under which a submission's processes together can "
           "use memory_mb each and any number of cores")


class Unavailable(Exception):
    """No group can be made for jails here; the message says what is missing."""


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: Path) -> str:
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


def own_cgroups(text: str) -> dict[str, str]:
    """/proc/self/cgroup as controller -> path; v2's line is under the key ""."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in parts[1].split(",") if parts[1] else [""]:
                out[name] = parts[2]
    return out


@dataclass(frozen=True)
class Hierarchy:
    """Where jails' groups are made: one parent per v1 controller, or one v2 parent."""

    version: int
    parents: tuple[Path, ...]

    def create(self, memory_bytes: int, max_processes: int) -> Group:
        """A fresh group with the job's limits; the caller must close() it on every path."""
        name = f"jaxjudge-{os.getpid()}-{uuid.uuid4().hex[:12]}"  # threads share a pid
        group = Group(self.version, tuple(p / name for p in self.parents))
        try:
            for d in group.dirs:
                d.mkdir()
            group.limit(memory_bytes, max_processes)
        except OSError as exc:
            group.close()
            raise JudgeError(f"cannot set up the jail's cgroup {name}: {exc}") from exc
        return group


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
                _write(d / name, value)
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
            events = _keyed(_read(self.dirs[0] / "memory.events"))
            self._oom = events.get("oom_kill", 0) > 0 or events.get("oom_group_kill", 0) > 0
            return self._oom
        path = self._file("memory.oom_control")
        control = _keyed(_read(path)) if path else {}
        if "oom_kill" in control:  # kernels since 4.13
            self._oom = control["oom_kill"] > 0 or control.get("under_oom", 0) > 0
        else:
            failcnt, peak, limit = (self._number(n) for n in (
                "memory.failcnt", "memory.max_usage_in_bytes", "memory.limit_in_bytes"))
            self._oom = control.get("under_oom", 0) > 0 or (failcnt > 0 and peak >= limit > 0)
        return self._oom

    def _number(self, name: str) -> int:
        path = self._file(name)
        text = _read(path).strip() if path else ""
        return int(text) if text.isdigit() else 0

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
            out.update(int(p) for p in _read(d / "cgroup.procs").split() if p.isdigit())
        return sorted(out)

    def kill(self) -> None:
        """SIGKILL everything in the group, until it is empty (bounded)."""
        if self.version == 2 and (self.dirs[0] / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                _write(self.dirs[0] / "cgroup.kill", "1")
        for _ in range(200):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

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


def probe(root: Path = ROOT, self_cgroup: str | None = None, euid: int | None = None) -> Hierarchy:
    """Finds where this judge can make jails' groups, and checks it can; raises Unavailable."""
    if self_cgroup is None:
        self_cgroup = _read(Path("/proc/self/cgroup"))
    euid = os.geteuid() if euid is None else euid
    own = own_cgroups(self_cgroup)
    if (root / "cgroup.controllers").is_file():
        hierarchy = _probe_v2(root, own.get("", "/"), euid)
    elif (root / "memory").is_dir() or (root / "pids").is_dir() or (root / "cpu").is_dir():
        hierarchy = _probe_v1(root, own)
    else:
        raise Unavailable(f"no cgroup filesystem at {root}")
    _try(hierarchy)
    return hierarchy


def _probe_v1(root: Path, own: dict[str, str]) -> Hierarchy:
    missing = [c for c in CONTROLLERS if not (root / c / "cgroup.procs").is_file()]
    if missing:
        raise Unavailable(f"cgroup v1 controllers not mounted under {root}: {', '.join(missing)}")
    parents: dict[Path, Path] = {}
    for c in CONTROLLERS:
        # Inside the judge's own group where it is visible (so the judge's bounds hold for its
        # jails too); the hierarchy's root where it is not (a container without a cgroup ns).
        mine = root / c / own.get(c, "/").lstrip("/")
        parent = mine if mine.is_dir() else root / c
        parents.setdefault(parent.resolve(), parent)  # co-mounted controllers: one directory
    return Hierarchy(1, tuple(parents.values()))


def _enable(group: Path) -> None:
    """Turns on the controllers for `group`'s children (v2's cgroup.subtree_control)."""
    enabled = set(_read(group / "cgroup.subtree_control").split())
    wanted = [c for c in CONTROLLERS if c not in enabled]
    if wanted:
        _write(group / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))


def _probe_v2(root: Path, own: str, euid: int) -> Hierarchy:
    available = set(_read(root / "cgroup.controllers").split())
    missing = [c for c in CONTROLLERS if c not in available]
    if missing:
        raise Unavailable(f"the cgroup v2 tree at {root} lacks controllers: {', '.join(missing)}")
    try:
        if euid == 0:
            # v2 has no processes in inner groups: jails' groups go under a parent of their own
            # at the top, which the root group (exempt from that rule) enables controllers for.
            parent = root / V2_PARENT
            _enable(root)
            parent.mkdir(exist_ok=True)
            _enable(parent)
            return Hierarchy(2, (parent,))
        # A delegated subtree: the judge moves itself into a leaf of its own group, which can
        # then hand controllers to jails' groups beside it.
        mine = root / own.lstrip("/")
        if mine.name == V2_LEAF:
            mine = mine.parent
        if not os.access(mine / "cgroup.procs", os.W_OK) \
                or not os.access(mine / "cgroup.subtree_control", os.W_OK):
            raise Unavailable(f"not root, and the judge's own cgroup {mine} is not delegated "
                              "to it")
        leaf = mine / V2_LEAF
        leaf.mkdir(exist_ok=True)
        _write(leaf / "cgroup.procs", str(os.getpid()))
        _enable(mine)
        return Hierarchy(2, (mine,))
    except OSError as exc:
        raise Unavailable(f"cannot enable cgroup v2 controllers: {exc}") from exc


def _try(hierarchy: Hierarchy) -> None:
    """Makes and removes one group, so a read-only or refused tree is found out now."""
    name = f"jaxjudge-probe-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    made: list[Path] = []
    try:
        for parent in hierarchy.parents:
            (parent / name).mkdir()
            made.append(parent / name)
    except OSError as exc:
        raise Unavailable(f"cannot create a cgroup under {parent}: {exc.strerror or exc}") from exc
    finally:
        for d in made:
            with contextlib.suppress(OSError):
                os.rmdir(d)


def for_jails(accept_per_process: bool, root: Path | None = None) -> Hierarchy | None:
    """The hierarchy jails' groups are made in; None where none can be made and per-process limits
    were accepted. Refuses (JudgeError) otherwise."""
    setting = os.environ.get("JAXJUDGE_LIMITS", "")
    if setting not in ("", "cgroup", "per-process"):
        raise JudgeError(f"JAXJUDGE_LIMITS={setting!r}: use 'per-process' or leave it unset")
    try:
        return probe(root or ROOT)
    except Unavailable as exc:
        if accept_per_process or setting == "per-process":
            return None
        raise JudgeError(f"no cgroup can bound a submission as a whole ({exc}): {WAY_OUT}") \
            from exc
