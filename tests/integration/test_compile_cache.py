"""The compile cache jails read gives away nothing of the trusted code that warmed it: a jail can
open only the entries its own programs hash to (the folder is unlistable), and no entry holds a
source location (file, line, function) of the reference or of the judge."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.judging.judge import grade_submission
from grader.model.problems import Problem
from grader.sandbox.container import DockerSandbox
from grader.sandbox.local import LocalSandbox
from grader.sandbox.protocol import Sandbox
from grader.tools.warm import warm

ROOT = Path(__file__).resolve().parents[2]

# At import time: list the cache, decompress whatever it can read, print what names the
# reference (its file name, its folder, its function's frames) or the judge's runner.
SNOOP = '''
import os, re, zlib

def _unpack(raw):
    try:
        return zlib.decompress(raw)
    except Exception:
        pass
    try:
        import zstandard
        return zstandard.ZstdDecompressor().decompress(raw, max_output_size=1 << 26)
    except Exception:
        return raw

_found = set()
for _root in sorted({"/jaxcache", os.environ.get("JAX_COMPILATION_CACHE_DIR") or "/jaxcache"}):
    try:
        _names = os.listdir(_root)
    except OSError as exc:
        print("snoop: cannot list", _root, type(exc).__name__)
        continue
    print("snoop: listed", len(_names), "entries")
    for _name in _names[:400]:
        try:
            with open(os.path.join(_root, _name), "rb") as _f:
                _data = _unpack(_f.read(1 << 24))
        except OSError:
            continue
        for _m in re.findall(rb"[\\w./-]*(?:reference|reinforce_grad\\.py|runner\\.py)[\\w./-]*",
                             _data):
            _found.add(_m.decode(errors="replace")[-80:])
print("snoop: leaked", sorted(_found)[:20])
'''

# The reference's own code, counting the compile-cache hits of its run: the cache still serves.
COUNT_HITS = '''
import jax.monitoring

HITS = []
jax.monitoring.register_event_listener(
    lambda event, **_: HITS.append(1) if event == "/jax/compilation_cache/cache_hits" else None)

_reference = reinforce_grad


def reinforce_grad(**args):
    out = _reference(**args)
    print("cache hits:", len(HITS))
    return out
'''

LEAKS = ("reference", "reinforce_grad.py", "runner.py")


@pytest.fixture(scope="module")
def warmed(fast_problem: Problem, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fast problem's compile cache, warmed by `jaxjudge warm`'s code from the reference."""
    base = tmp_path_factory.mktemp("xla-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(base / "cache"))
        mp.setenv("JAXJUDGE_COMPILE_CACHE", str(base / "xla"))
        assert warm(fast_problem, base / "xla") == []
        yield base / "xla"


def _attack(tmp_path: Path, tail: str) -> Path:
    path = tmp_path / "attack.py"
    path.write_text((ROOT / "reference" / "reinforce_grad.py").read_text() + tail)
    return path


def _grade_output(problem: Problem, submission: Path, sandbox: Sandbox) -> str:
    report = grade_submission(problem, submission, sandbox, advise=False)
    return report.output + report.hidden_output


def test_a_jail_reads_nothing_of_the_reference_from_the_compile_cache(
        fast_problem: Problem, warmed: Path, tmp_path: Path, clean_after: None) -> None:
    out = _grade_output(fast_problem, _attack(tmp_path, SNOOP),
                        LocalSandbox(compile_cache=warmed))
    assert "snoop: leaked []" in out, out
    assert not any(leak in out for leak in LEAKS), out


def test_through_docker_too(fast_problem: Problem, warmed: Path, tmp_path: Path,
                            docker_sandbox: DockerSandbox) -> None:
    """The docker backend mounts the same host folder into the runner container (uid 60000)."""
    sandbox = DockerSandbox(compile_cache=warmed)
    out = _grade_output(fast_problem, _attack(tmp_path, SNOOP), sandbox)
    assert "snoop: leaked []" in out, out
    assert not any(leak in out for leak in LEAKS), out


def test_no_entry_holds_a_source_location(warmed: Path) -> None:
    """Even the judge, who can list the folder, finds no file, line or frame of trusted code:
    a jail that hashes its way to an entry gets the program it compiled, and no more."""
    entries = [p for p in warmed.iterdir() if p.name.endswith("-cache")]
    assert len(entries) > 5
    for entry in entries:
        data = zlib.decompress(entry.read_bytes())
        assert not any(leak.encode() in data for leak in LEAKS), entry.name
        assert str(ROOT).encode() not in data, entry.name


def test_the_sealed_cache_still_serves_the_jail_and_a_listable_one_is_not_mounted(
        fast_problem: Problem, warmed: Path, tmp_path: Path, clean_after: None) -> None:
    counting = _attack(tmp_path, COUNT_HITS)
    out = _grade_output(fast_problem, counting, LocalSandbox(compile_cache=warmed))
    assert "cache hits: 0" not in out and "cache hits:" in out, out
    # A folder anyone can list (as an older judge left it) is no cache to a jail.
    mode = warmed.stat().st_mode & 0o777
    try:
        os.chmod(warmed, 0o755)
        out = _grade_output(fast_problem, counting, LocalSandbox(compile_cache=warmed))
        assert "cache hits: 0" in out, out
    finally:
        os.chmod(warmed, mode)
