"""Integration fixtures: the real bubblewrap sandbox and a problem copy with tight limits."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grader.judging.execution import ready_key
from grader.model.problems import Problem, load_problem
from grader.sandbox import hierarchy, scratch
from grader.sandbox.container import DockerSandbox
from grader.sandbox.local import SANDBOX_UID, LocalSandbox
from grader.sandbox.protocol import Sandbox
from grader.sandbox.ready import READY_UID_OFFSET
from grader.tools.warm import compile_programs, warm
from tests.integration.servers import Postgres, Redis
from tests.integration.service import WARM_CACHE
from tests.specs import hidden_tests_problem

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def _needs_bwrap() -> None:
    if shutil.which("bwrap") is None:
        pytest.fail("integration tests need bubblewrap: run 'make setup'")


@pytest.fixture(scope="session")
def docker_sandbox() -> DockerSandbox:
    """The real engine and the runner image, which .ci/run builds; absent is a failure."""
    return DockerSandbox()


@pytest.fixture(scope="session")
def compile_cache(tmp_path_factory: pytest.TempPathFactory, fast_problem: Problem,
                  hidden_problem: Problem) -> Path:
    """A compile cache warmed once per session (per xdist worker) by `jaxjudge warm`'s code from
    the references of the problems the attacks run on, sealed, as every grader's jails get one:
    an attack built on the correct code then compiles nothing. Jails of other fixtures and
    tests (LocalSandbox() and DockerSandbox() as such) take the cold path."""
    folder = tmp_path_factory.mktemp("xla") / "xla"
    for problem in (fast_problem, hidden_problem):
        assert warm(problem, folder) == []
    return folder


@pytest.fixture(scope="session", autouse=True)
def _servers_read_the_warm_cache(compile_cache: Path) -> None:
    """The servers, graders and CLI runs the tests start (which inherit this environment) read
    the session's warm cache, as `make serve`'s read the one `jaxjudge warm` fills before it
    starts: each of their jails would otherwise compile reinforce_grad's programs again. A test
    of the cache itself sets its own; sandboxes made in the tests' own process take theirs as
    an argument (LocalSandbox() alone has none: the cold path)."""
    os.environ[WARM_CACHE] = str(compile_cache)  # read by service.env() alone


@pytest.fixture(scope="session")
def warmed_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Problem], Path]:
    """A sealed compile cache per problem, warmed on first need from its trusted code alone, as
    `jaxjudge warm` warms a grader's (the rest of the trusted work is left to the grades that
    need it): for the tests that grade many examples of one problem, whose jails would each
    compile the problem's programs from scratch. One per problem for the whole run: the xdist
    workers share the folder above their own temp roots, and the first to need a problem warms
    it while the others wait on its lock."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    shared = tmp_path_factory.getbasetemp().parent if worker else tmp_path_factory.mktemp("w")
    folders: dict[Path, Path] = {}

    def get(problem: Problem) -> Path:
        if problem.spec_path not in folders:
            key = hashlib.sha256(problem.spec_path.read_bytes() + b"\0"
                                 + problem.reference_path.read_bytes()).hexdigest()[:16]
            home = shared / f"xla-{problem.id}-{key}"
            home.mkdir(exist_ok=True)
            with (home / "lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (home / "done").exists():
                    assert compile_programs(problem, home / "xla", examples=False) == []
                    (home / "done").touch()
            folders[problem.spec_path] = home / "xla"
        return folders[problem.spec_path]

    return get


@contextlib.contextmanager
def ready_sandbox(compile_cache: Path) -> Iterator[LocalSandbox]:
    """bubblewrap keeping a jail started ahead (of the default limits), as a grader does; its
    ready jail closed at the end."""
    box = LocalSandbox(compile_cache=compile_cache, keep_ready=True)
    box.prepare(ready_key())
    try:
        yield box
    finally:
        box.close()


@pytest.fixture(params=["local", "docker"])
def sandbox(request: pytest.FixtureRequest, compile_cache: Path) -> Iterator[Sandbox]:
    """Each backend in turn: the judge must give the same verdicts through both. Both read the
    session's warm compile cache (read-only, as in production). "ready" (asked for by name,
    where the ready path differs): bubblewrap with a jail started ahead, as a grader keeps."""
    if request.param == "docker":
        yield DockerSandbox(compile_cache=compile_cache)
    elif request.param == "ready":
        with ready_sandbox(compile_cache) as box:
            yield box
    else:
        yield LocalSandbox(compile_cache=compile_cache)


def _visible_only(tmp_path_factory: pytest.TempPathFactory, limits: str) -> Problem:
    """reinforce_grad with its 3 visible tests only, under `limits`."""
    root = tmp_path_factory.mktemp("root")
    shutil.copytree(ROOT / "problems" / "reinforce_grad", root / "problems" / "reinforce_grad")
    (root / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "reinforce_grad.py", root / "reference")
    spec = root / "problems" / "reinforce_grad" / "problem.yaml"
    text = spec.read_text().replace(
        "limits: {time_per_test_s: 20, total_time_s: 120, memory_mb: 3072}", limits)
    text = text.split("  - name: single_action")[0]  # keep the visible tests only
    spec.write_text(text)
    return load_problem("reinforce_grad", root)


@pytest.fixture(scope="session")
def fast_problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    """Limits tight enough for hostile tests that end by a timeout. Those charge the jail's
    CPU time, with 3 times as much wall clock for code that waits: a file that sleeps at import
    is ended after 15 s."""
    return _visible_only(tmp_path_factory, "limits: {time_per_test_s: 8, total_time_s: 40, "
                                           "memory_mb: 3072, startup_s: 5}")


@pytest.fixture(scope="session")
def roomy_problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    """The default time limits, for attacks whose verdict is not a timeout but whose work
    (filling gigabytes on one capped core) is slow on a busy machine, and for class grades:
    two jails grading at once and two started ahead share the machine's cores, and on a
    loaded CI machine a cold wrong answer there once took more than fast_problem's 8 s."""
    return _visible_only(tmp_path_factory, "limits: {time_per_test_s: 20, total_time_s: 60, "
                                           "memory_mb: 3072, startup_s: 15}")


# Batch mode gives each slot its own; a slot's jail started ahead takes its second one.
JAIL_UIDS = frozenset([*range(SANDBOX_UID, SANDBOX_UID + 64),
                       *range(SANDBOX_UID + READY_UID_OFFSET, SANDBOX_UID + READY_UID_OFFSET + 64)])


def _memory_cgroup(pid: str) -> str:
    groups = hierarchy.own_cgroups(Path(f"/proc/{pid}/cgroup").read_text())
    return groups.get("memory", groups.get("", "/")).rstrip("/") + "/"


def sandbox_leftovers() -> list[str]:
    """Processes running as a sandbox uid, and files one owns under /tmp. Only processes within
    this test run's own memory cgroup count: jails of another run on the same host are not ours
    (a process of ours cannot leave the cgroup it was born in)."""
    mine = _memory_cgroup("self")
    procs = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if d.stat().st_uid in JAIL_UIDS and _memory_cgroup(d.name).startswith(mine):
                    procs.append(f"pid {d.name}")
            except (FileNotFoundError, ProcessLookupError):
                continue
    files = []
    top = os.lstat("/tmp").st_dev
    for dirpath, dirs, names in os.walk("/tmp"):
        # Only where a jail's uid could have written: folders others may write (/tmp itself) or
        # that uid owns, on /tmp's own file system. Not the CI's caches, a pytest temp root or a
        # chroot's /proc (thousands of entries, 0.5 s a walk).
        kept = []
        for sub in dirs:
            try:
                st = os.lstat(os.path.join(dirpath, sub))
            except FileNotFoundError:
                continue
            if st.st_dev == top and (st.st_mode & 0o002 or st.st_uid in JAIL_UIDS):
                kept.append(sub)
        dirs[:] = kept
        for n in names:
            p = Path(dirpath) / n
            try:
                if p.lstat().st_uid in JAIL_UIDS:
                    files.append(str(p))
            except FileNotFoundError:
                continue
    return procs + files


def jail_leftovers() -> list[str]:
    """This judge's cgroups, /tmp mounts and scratch folders: each run must remove its own."""
    mine = f"jaxjudge-{os.getpid()}-"
    groups = [str(d) for parent in hierarchy.probe().parents for d in parent.glob(mine + "*")]
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
              if scratch.TMP_PREFIX in line]
    folders = [str(p) for prefix in (scratch.TMP_PREFIX, scratch.SCRATCH_PREFIX,
                                              scratch.STAGE_PREFIX)
               for p in Path(tempfile.gettempdir()).glob(f"{prefix}{os.getpid()}-*")]
    return groups + mounts + folders


@pytest.fixture
def clean_after() -> Iterator[None]:
    # Only what the test left counts: a group named after this worker's pid may be older than the
    # worker, left on the host by a killed judge that once had the same pid.
    before = set(jail_leftovers())
    yield
    assert sandbox_leftovers() == []
    assert [d for d in jail_leftovers() if d not in before] == []


@pytest.fixture(scope="session")
def hidden_problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    """Two visible tests, two hidden ones between them, and one visible check."""
    return hidden_tests_problem(tmp_path_factory.mktemp("hidden"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster of this run's own (each test makes a fresh database on it)."""
    server = Postgres()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_server() -> Iterator[Redis]:
    """A redis-server of this test's own: a test may restart or kill it."""
    server = Redis()
    try:
        yield server
    finally:
        server.close()
