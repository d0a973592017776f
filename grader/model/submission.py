"""A submission is bytes: read once without following links, staged where only its jail reads."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionRefused
from grader.model.notebook import NotebookError, is_notebook, notebook_code

MAX_BYTES = 256 * 1024  # a learner's file is a few KiB; this still fits any honest one
STAGED_NAME = "submission.py"

_KINDS = {stat.S_IFLNK: "a symbolic link, not a file — submit the file itself",
          stat.S_IFDIR: "a directory, not a file",
          stat.S_IFIFO: "a FIFO (named pipe), not a file",
          stat.S_IFSOCK: "a socket, not a file",
          stat.S_IFCHR: "a character device, not a file",
          stat.S_IFBLK: "a block device, not a file"}


@dataclass(frozen=True)
class Submission:
    """What the judge grades: a display name for reports and the source's bytes (UTF-8)."""

    name: str
    source: bytes

    def python(self) -> tuple[Submission, list[str]]:
        """What the jail runs: the source itself, or a notebook's (.ipynb) code cells with its
        IPython lines removed, and notes for the report saying what was removed. Every path
        grades through here (grade_submission), and reads through `read_submission` or the web
        intake, which refuse a notebook this would refuse."""
        if not is_notebook(self.name):
            return self, []
        try:
            code = notebook_code(self.source)
        except NotebookError as exc:
            raise _refuse(self.name, str(exc)) from None
        return Submission(self.name, code.source), [code.note] if code.note else []


def _refuse(name: str, reason: str) -> SubmissionRefused:
    return SubmissionRefused(f"{name}: refused: {reason}")


def _check(name: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(name, _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file"))
    if st.st_size > MAX_BYTES:
        raise _refuse(name, f"{st.st_size} bytes, over the {MAX_BYTES // 1024} KiB cap")


def read_submission(path: Path, name: str | None = None) -> Submission:
    """Reads a regular file's bytes; anything else is refused with a one-line reason.

    The path's last component is never followed (a link to the reference would be graded as the
    reference), and a FIFO swapped in after the check cannot block the open.
    """
    name = str(path) if name is None else name
    try:
        _check(name, os.lstat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise _refuse(name, "no such file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # became a link between lstat and open
            raise _refuse(name, _KINDS[stat.S_IFLNK]) from None
        raise _refuse(name, f"cannot be read ({exc.strerror})") from exc
    try:
        _check(name, os.fstat(fd))
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BYTES and (chunk := os.read(fd, MAX_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _refuse(name, f"cannot be read ({exc.strerror})") from exc
    finally:
        os.close(fd)
    source = b"".join(chunks)
    if len(source) > MAX_BYTES:  # it grew after fstat
        raise _refuse(name, f"over the {MAX_BYTES // 1024} KiB cap")
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(name, f"not UTF-8 text (byte {exc.start}) — save the file as UTF-8") \
            from None
    submission = Submission(name, source)
    submission.python()  # a notebook that cannot be graded is refused here, as a bad file is
    return submission


@contextlib.contextmanager
def staged(submission: Submission, jail_uid: int | None) -> Iterator[Path]:
    """The bytes in a fresh file the judge owns, readable by the jail and no one else; removed on
    every path.

    As root the file stays the judge's, read-only to the jail's group (gid = jail uid), so the
    jail can read but neither change nor chmod it; its folder is traversable for a jail that opens
    the host path itself (uid isolation). Otherwise the jail maps to the judge's own uid (user
    namespace) or mounts the file (Docker), and the 0700 folder keeps other users out.
    """
    folder = Path(tempfile.mkdtemp(prefix="jaxjudge-submission-"))
    try:
        path = folder / STAGED_NAME
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        try:
            view = memoryview(submission.source)
            while view:
                view = view[os.write(fd, view):]
            if jail_uid is not None and os.geteuid() == 0:
                os.fchown(fd, 0, jail_uid)
                os.fchmod(fd, 0o440)
                folder.chmod(0o711)
            else:
                os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
