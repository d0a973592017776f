"""The compile cache jails read gives away nothing of the trusted code that warmed it: a jail can
open only the entries its own programs hash to (the folder is unlistable), and no entry holds a
source location (file, line, function) of the reference or of the judge. Nor anything of a
hidden test: before the hidden inputs are sent a jail loads only the visible calls' programs."""

from __future__ import annotations

import os
import re
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem
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

# At the first call (a visible one): which shapes of the statement's sampling program hit the
# cache. A hit means a trusted grade compiled that program: for a hidden test's shape, that is
# a hidden input's shape, printed where the learner reads it. Then, per call, the hits so far.
PROBE = '''
import jax.monitoring
import numpy as _np

_HITS = []
jax.monitoring.register_event_listener(
    lambda event, **_: _HITS.append(1) if event == "/jax/compilation_cache/cache_hits" else None)
_reference, _probed = reinforce_grad, []


def _probe():
    key, found = jax.random.PRNGKey(jnp.int32(0)), []
    for k in (1, 2, 3):
        logits = jnp.asarray(_np.zeros(k, _np.float32))  # no program: a transfer
        for n in (1000, 1):  # n-only programs of a K are loaded by the first
            before = len(_HITS)
            jax.random.categorical(key, logits, shape=(n,)).block_until_ready()
            if len(_HITS) > before:
                found.append((k, n))
    return found


def reinforce_grad(**args):
    if not _probed:
        _probed.append(print("probe:", _probe()))
    out = _reference(**args)
    print("hits:", len(_HITS))
    return out
'''


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


@pytest.fixture(scope="module")
def two_phases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Problem, Path]]:
    """reinforce_grad's visible tests (K=2 and K=3, 1,000 samples) and two hidden ones of shapes
    no visible call has (single_action: K=1; one_sample: 1 sample), and its warmed cache."""
    root = tmp_path_factory.mktemp("two-phases")
    shutil.copytree(ROOT / "problems" / "reinforce_grad", root / "problems" / "reinforce_grad")
    (root / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "reinforce_grad.py", root / "reference")
    spec = root / "problems" / "reinforce_grad" / "problem.yaml"
    spec.write_text(spec.read_text().split("  - name: float_seed_truncates")[0])
    problem = load_problem("reinforce_grad", root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        mp.setenv("JAXJUDGE_COMPILE_CACHE", str(root / "xla"))
        assert warm(problem, root / "xla") == []
        yield problem, root / "xla"


def _no_hidden_shape_before_the_hidden_inputs(problem: Problem, sandbox: Sandbox,
                                              tmp_path: Path) -> None:
    report = grade_submission(problem, _attack(tmp_path, PROBE), sandbox, advise=False)
    assert report.verdict.value == "accepted", report.output + report.hidden_output
    # The visible shapes hit (the probe sees hits), the hidden ones do not.
    assert "probe: [(2, 1000), (3, 1000)]" in report.output, report.output
    # Once the hidden inputs are sent, the hidden calls' programs serve the jail.
    seen = [int(n) for n in re.findall(r"hits: (\d+)", report.output)]
    later = [int(n) for n in re.findall(r"hits: (\d+)", report.hidden_output)]
    assert seen and later and max(later) > max(seen), (report.output, report.hidden_output)


def test_a_jail_cannot_learn_a_hidden_shape_from_the_cache(
        two_phases: tuple[Problem, Path], tmp_path: Path, clean_after: None) -> None:
    problem, cache = two_phases
    _no_hidden_shape_before_the_hidden_inputs(problem, LocalSandbox(compile_cache=cache),
                                              tmp_path)


def test_a_ready_jail_cannot_either(two_phases: tuple[Problem, Path], tmp_path: Path,
                                    clean_after: None) -> None:
    problem, cache = two_phases
    sandbox = LocalSandbox(compile_cache=cache, keep_ready=True)
    try:
        _no_hidden_shape_before_the_hidden_inputs(problem, sandbox, tmp_path)
    finally:
        sandbox.close()


def test_nor_a_container(two_phases: tuple[Problem, Path], tmp_path: Path,
                         docker_sandbox: DockerSandbox) -> None:
    problem, cache = two_phases
    _no_hidden_shape_before_the_hidden_inputs(problem, DockerSandbox(compile_cache=cache),
                                              tmp_path)
