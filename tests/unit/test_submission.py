"""Reading a submission's bytes (every refusal and its reason) and staging them for a jail."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from grader.batch.class_grading import find_submissions
from grader.errors import JudgeError, SubmissionRefused
from grader.model.submission import MAX_BYTES, Submission, read_submission, staged

SOURCE = "def f(x):\n    return x  # naïve\n"


def test_a_regular_file_is_read_as_bytes_under_its_given_name(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text(SOURCE, encoding="utf-8")
    path.chmod(0o600)
    assert read_submission(path) == Submission(str(path), SOURCE.encode())
    assert read_submission(path, name="alice/a.py").name == "alice/a.py"


def test_empty_and_exactly_at_the_cap_are_fine(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_bytes(b"")
    assert read_submission(tmp_path / "empty.py").source == b""
    (tmp_path / "full.py").write_bytes(b"#" * MAX_BYTES)
    assert len(read_submission(tmp_path / "full.py").source) == MAX_BYTES


def _refusal(path: Path, name: str | None = None) -> str:
    with pytest.raises(SubmissionRefused) as info:
        read_submission(path, name)
    assert isinstance(info.value, JudgeError)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_every_kind_of_non_file_is_refused_with_its_reason(tmp_path: Path) -> None:
    target = tmp_path / "target.py"
    target.write_text(SOURCE)
    (tmp_path / "link.py").symlink_to(target)
    (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    (tmp_path / "dir.py").mkdir()
    os.mkfifo(tmp_path / "fifo.py")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.py"))
    try:
        assert _refusal(tmp_path / "link.py", "alice/submission.py") == (
            "alice/submission.py: refused: a symbolic link, not a file — submit the file itself")
        assert "refused: a symbolic link" in _refusal(tmp_path / "dangling.py")
        assert _refusal(tmp_path / "dir.py").endswith("refused: a directory, not a file")
        assert _refusal(tmp_path / "fifo.py").endswith("refused: a FIFO (named pipe), not a file")
        assert _refusal(tmp_path / "sock.py").endswith("refused: a socket, not a file")
        assert _refusal(Path("/dev/null")) == (
            "/dev/null: refused: a character device, not a file")
        assert _refusal(tmp_path / "missing.py").endswith("refused: no such file")
    finally:
        sock.close()


def test_a_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.py"
    path.write_bytes(b"#" * (MAX_BYTES + 1))
    assert _refusal(path) == f"{path}: refused: {MAX_BYTES + 1} bytes, over the 256 KiB cap"


def test_non_utf8_is_refused_with_where(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = 'caf\xe9'\n")
    assert _refusal(path) == (
        f"{path}: refused: not UTF-8 text (byte 8) — save the file as UTF-8")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to the jail's group needs root")
def test_as_root_the_copy_is_the_judges_and_readable_only_by_the_jail() -> None:
    with staged(Submission("a.py", SOURCE.encode()), jail_uid=60_123) as path:
        st = path.stat()
        assert path.read_bytes() == SOURCE.encode()
        assert (st.st_uid, st.st_gid, _mode(path)) == (0, 60_123, 0o440)
        # Traversable, not listable, by a jail that opens the host path (uid isolation).
        assert (path.parent.stat().st_uid, _mode(path.parent)) == (0, 0o711)
    assert not path.parent.exists()


def test_without_a_jail_uid_the_copy_sits_in_a_private_folder() -> None:
    with staged(Submission("a.py", b""), jail_uid=None) as path:
        assert (_mode(path), _mode(path.parent)) == (0o644, 0o700)
        assert path.parent.stat().st_uid == os.geteuid()
    assert not path.parent.exists()


def test_the_copy_is_removed_when_grading_fails() -> None:
    with pytest.raises(RuntimeError), staged(Submission("a.py", b"x"), 60_000) as path:
        raise RuntimeError("the grade failed")
    assert not path.parent.exists()


def test_find_submissions_lists_links_and_special_files_without_following(
        tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "submission.py").write_text(SOURCE)
    room = tmp_path / "class"
    (room / "alice").mkdir(parents=True)
    (room / "alice" / "submission.py").symlink_to(real / "submission.py")
    (room / "bob").mkdir()
    (room / "bob" / "f.py").write_text(SOURCE)
    (room / "carol").symlink_to(real)
    (room / "dave.py").symlink_to(real / "submission.py")
    os.mkfifo(room / "eve.py")
    (room / "notes.txt").write_text("not a submission")
    (room / "notes.link").symlink_to(room / "notes.txt")
    assert find_submissions([room], "f") == [
        room / "alice" / "submission.py", room / "bob" / "f.py", room / "carol",
        room / "dave.py", room / "eve.py"]
