"""The jail's scratch space: a private size-capped tmpfs, or a private directory per submission."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from grader.errors import JudgeError
from grader.sandbox.reaping import alive

# Host folders, under the temp dir, named with the judge's pid: jaxjudge-tmp-<pid>-...
TMP_PREFIX, SCRATCH_PREFIX = "jaxjudge-tmp-", "jaxjudge-scratch-"
STAGE_PREFIX = "jaxjudge-stage-"


def bwrap_sizes_tmpfs(bwrap: str) -> bool:
    """Whether this bubblewrap has `--size` for `--tmpfs` (0.9 on; Debian 12's 0.8 has not)."""
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--size" in text.stdout + text.stderr


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def sized_tmpfs(size_mb: int, uid: int) -> Iterator[Path]:
    """A fresh tmpfs of `size_mb`, owned by the jail's uid and closed to everyone else (root
    only: mount). Its pages are charged to the memory cgroup of the process that writes them.
    Unmounted and removed on every path out."""
    folder = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
    try:
        done = _run(shutil.which("mount") or "/bin/mount", "-t", "tmpfs", "-o",
                    f"size={size_mb}m,mode=0700,uid={uid},gid={uid},nosuid,nodev",
                    "tmpfs", str(folder))
        if done.returncode != 0:
            raise JudgeError(f"cannot mount the jail's /tmp: {done.stderr.strip()}")
        try:
            yield folder
        finally:
            _unmount(folder)
    finally:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _unmount(folder: Path) -> None:
    umount = shutil.which("umount") or "/bin/umount"
    for _ in range(20):
        if _run(umount, str(folder)).returncode == 0:
            return
        time.sleep(0.05)
    _run(umount, "-l", str(folder))  # still busy: detach it; it goes once nothing holds it


@contextlib.contextmanager
def private_dir(uid: int) -> Iterator[Path]:
    """A fresh directory only the jail's uid (and root) may enter; removed with all it holds."""
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        os.chown(folder, uid, uid)
        folder.chmod(0o700)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def staging_dir(jail_gid: int | None) -> Iterator[Path]:
    """A fresh folder for one jail's submission (and given.py), bound read-only into it: the
    judge's, entered by the jail's group (as root) or by the judge's own uid only (the jail is
    that uid in a user namespace); never writable by the jail. Removed with all it holds."""
    folder = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-"))
    try:
        if jail_gid is not None and os.geteuid() == 0:
            os.chown(folder, 0, jail_gid)
            folder.chmod(0o750)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep_staging(stale_after_s: float = 60.0) -> list[Path]:
    """Removes the staging folders of judges that died (a SIGKILLed grader leaves its ready
    jail's): named after a pid that no longer runs and older than `stale_after_s`. Returns them."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{STAGE_PREFIX}*-*"):
        pid = folder.name[len(STAGE_PREFIX):].split("-")[0]
        try:
            if not pid.isdigit() or alive(int(pid)) \
                    or time.time() - folder.lstat().st_mtime < stale_after_s:
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def stage_file(source: Path, target: Path) -> None:
    """A read-only copy of `source` the judge owns, made before the jail starts (O_EXCL: never
    through a link): it is read once, at start, so a jail that replaces it afterwards changes
    nothing."""
    data = source.read_bytes()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o444)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
