"""Where jails' cgroups can be made on this host: cgroup v1 or v2, as root or delegated, and the
refusal (with the way out) where none can."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from grader.errors import JudgeError
from grader.sandbox.cgroup import (
    ACCOUNTING,
    CONTROLLERS,
    Group,
    Unavailable,
    read_value,
    write_value,
)
from grader.sandbox.reaping import alive

log = logging.getLogger("jaxjudge.sandbox")

ROOT = Path("/sys/fs/cgroup")
V2_PARENT = "jaxjudge"  # v2 as root: jails' groups go under <root>/jaxjudge, which has no process
V2_LEAF = "jaxjudge-judge"  # v2 delegated: the judge moves itself here so its group can have jails
WAY_OUT = ("run the judge as root on a host with the memory, pids and cpu cgroup controllers, or "
           "delegate it a cgroup v2 subtree; or accept per-process limits (--per-process-limits "
           "or JAXJUDGE_LIMITS=per-process), under which a submission's processes together can "
           "use memory_mb each and any number of cores")


def own_cgroups(text: str) -> dict[str, str]:
    """/proc/self/cgroup as controller -> path; v2's line is under the key ""."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in parts[1].split(",") if parts[1] else [""]:
                out[name] = parts[2]
    return out



def group_of(pid: int, name: str, root: Path = ROOT) -> Group | None:
    """The group process `pid` is in (v2's, or v1's cpuacct), to read its CPU time, where this
    judge sees it and its path contains `name` (a container's id: a judge in a pid namespace of
    its own would read some other process's /proc/pid); None where it cannot."""
    try:
        groups = own_cgroups(Path(f"/proc/{pid}/cgroup").read_text())
    except (OSError, ValueError):
        return None
    if (root / "cgroup.controllers").is_file():
        version, path = 2, root / groups.get("", "/").lstrip("/")
    elif ACCOUNTING in groups:
        version, path = 1, root / ACCOUNTING / groups[ACCOUNTING].lstrip("/")
    else:
        return None
    return Group(version, (path,)) if name in path.name and path.is_dir() else None


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



# A jail's group is named after the judge process that made it: f"jaxjudge-{pid}-{12 hex}".
GROUP_NAME = re.compile(r"jaxjudge-(?:probe-)?(\d+)-[0-9a-f]{12}")
STALE_AFTER_S = 60.0  # a group this old with no process in it is no jail being set up


def sweep(hierarchy: Hierarchy, now: float | None = None) -> list[Path]:
    """Removes the groups that judges which died (SIGKILL, OOM, a power cut) could not: named
    after a pid that no longer runs, with no process in them, and older than STALE_AFTER_S (so
    a group another judge, in a pid namespace this one cannot see, is just setting up is left
    alone). A judge's live jails are never touched: a group with a process in it stays. Returns
    what it removed."""
    now = time.time() if now is None else now
    removed = []
    for parent in hierarchy.parents:
        with contextlib.suppress(OSError):
            for d in parent.iterdir():
                found = GROUP_NAME.fullmatch(d.name)
                if found is None or alive(int(found[1])):
                    continue
                try:
                    if read_value(d / "cgroup.procs").split() \
                            or now - d.stat().st_mtime < STALE_AFTER_S:
                        continue
                    os.rmdir(d)
                except OSError:
                    continue  # busy, or gone meanwhile: next time
                removed.append(d)
    return removed


def probe(root: Path = ROOT, self_cgroup: str | None = None, euid: int | None = None) -> Hierarchy:
    """Finds where this judge can make jails' groups, and checks it can; raises Unavailable."""
    if self_cgroup is None:
        self_cgroup = read_value(Path("/proc/self/cgroup"))
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
    accounting = [ACCOUNTING] if (root / ACCOUNTING / "cgroup.procs").is_file() else []
    for c in (*CONTROLLERS, *accounting):  # cpuacct where mounted: the jails' CPU time
        # Inside the judge's own group where it is visible (so the judge's bounds hold for its
        # jails too); the hierarchy's root where it is not (a container without a cgroup ns).
        mine = root / c / own.get(c, "/").lstrip("/")
        parent = mine if mine.is_dir() else root / c
        parents.setdefault(parent.resolve(), parent)  # co-mounted controllers: one directory
    return Hierarchy(1, tuple(parents.values()))


def _enable(group: Path) -> None:
    """Turns on the controllers for `group`'s children (v2's cgroup.subtree_control)."""
    enabled = set(read_value(group / "cgroup.subtree_control").split())
    wanted = [c for c in CONTROLLERS if c not in enabled]
    if wanted:
        write_value(group / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))


def _probe_v2(root: Path, own: str, euid: int) -> Hierarchy:
    available = set(read_value(root / "cgroup.controllers").split())
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
        write_value(leaf / "cgroup.procs", str(os.getpid()))
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
    """The hierarchy jails' groups are made in, with the stale groups of judges that died swept
    away; None where none can be made and per-process limits were accepted. Refuses (JudgeError)
    otherwise."""
    setting = os.environ.get("JAXJUDGE_LIMITS", "")
    if setting not in ("", "cgroup", "per-process"):
        raise JudgeError(f"JAXJUDGE_LIMITS={setting!r}: use 'per-process' or leave it unset")
    try:
        found = probe(root or ROOT)
    except Unavailable as exc:
        if accept_per_process or setting == "per-process":
            return None
        raise JudgeError(f"no cgroup can bound a submission as a whole ({exc}): {WAY_OUT}") \
            from exc
    if removed := sweep(found):  # an operator learns that judges died without cleaning up
        log.warning("removed %d cgroups left by judges that died: %s", len(removed),
                    ", ".join(d.name for d in removed[:5]) + (" ..." if len(removed) > 5 else ""))
    return found
