"""The documentation: the site builds with every link and anchor resolved, the README stays an
entry page, and nothing in the repository points at files outside it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 150
# Pointers at the contracts' first home, a folder beside the checkout that users never get.
# Spelt in pieces, so this file does not match itself.
OUTSIDE = re.compile("|".join(re.escape(p) for p in ("../" + "shared", "shared" + "/DESIGN",
                                                     "/work" + "/shared")))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def mkdocs() -> str:
    found = Path(sys.executable).with_name("mkdocs")
    if found.exists():
        return str(found)
    on_path = shutil.which("mkdocs")
    if on_path is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[dev]')")
    return on_path


def tracked() -> list[Path]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True, timeout=60).stdout.decode().split("\0")
    return [ROOT / n for n in names if n and (ROOT / n).is_file()]


def test_site_builds_strictly(tmp_path: Path) -> None:
    """mkdocs.yml is strict with link and anchor validation: a broken link fails here."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([mkdocs(), "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").is_file()


def test_readme_is_an_entry_page() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines: move detail to docs/"


def test_readme_links_stay_in_the_repository() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if re.match(r"[a-z]+://", target):
            continue
        path = (ROOT / target).resolve()
        assert path.is_relative_to(ROOT), f"README.md links outside the repository: {target}"
        assert path.exists(), f"README.md links to a missing file: {target}"


def test_nothing_points_outside_the_repository() -> None:
    """The contracts live in docs/DESIGN.md, which the code's docstrings cite as DESIGN.md."""
    assert (ROOT / "docs" / "DESIGN.md").is_file()
    found = []
    for path in tracked():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary: screenshots, wheels
        found += [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
                  for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert not found, "\n".join(found)
