"""A real `jaxjudge serve` (and `jaxjudge worker`) in subprocesses, and an HTTP client for it."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from grader.cli import main
from grader.cli.client import sse
from tests.specs import hidden_tests_problem

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "submissions" / "reinforce_grad"
ACCEPTED = (EXAMPLES / "accepted" / "vmap_grad_log_softmax.py").read_text()
SLOT_BASE = 10  # jail uids 60010+: other agents' and tests' jails use the low ones


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The session's warm compile cache (tests/integration/conftest.py), for the processes env() is for.
WARM_CACHE = "JAXJUDGE_TEST_WARM_CACHE"


def env(problem_root: Path, **settings: Any) -> dict[str, str]:
    """The environment of a server, grader or CLI run a test starts: its settings, and the
    session's warm compile cache, unless the test set its own (or gives it as a setting)."""
    out = {**os.environ, "PYTHONPATH": str(ROOT), "JAXJUDGE_ROOT": str(problem_root),
           "JAXJUDGE_SLOT_BASE": str(SLOT_BASE)}
    if WARM_CACHE in os.environ and "JAXJUDGE_COMPILE_CACHE" not in os.environ:
        out["JAXJUDGE_COMPILE_CACHE"] = os.environ[WARM_CACHE]
    out.update({f"JAXJUDGE_{k.upper()}": str(v) for k, v in settings.items()})
    return out


def jaxjudge(*args: str) -> list[str]:
    return [sys.executable, "-m", "grader.cli", *args]


def create_user(data: Path, problem_root: Path, name: str, role: str = "learner") -> str:
    """The new account's API token, as `jaxjudge admin create-user` prints it: the command run
    in this process (a subprocess per account cost ~1.3 s of CPU starting Python, dozens of
    times a run; test_service_sessions.py runs `jaxjudge admin` as its own process)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["admin", "create-user", name, "--role", role, "--password", f"{name}-pw",
                     "--data", str(data)])
    assert code == 0, out.getvalue()
    return next(line.split()[1] for line in out.getvalue().splitlines()
                if line.startswith("token:"))


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Process:
    """A jaxjudge subprocess we started: stopped or killed by its own pid only."""

    def __init__(self, args: list[str], environ: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as f:
            self.proc = subprocess.Popen(args, env=environ, stdout=f, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL, and reap: a zombie would still look alive to a sweeper."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class Server(Process):
    def __init__(self, data: Path, problem_root: Path, jobs: int = 1,
                 **settings: Any) -> None:
        self.port = free_port()
        self.data, self.root = data, problem_root
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(jaxjudge("serve", "--port", str(self.port), "--data", str(data),
                                  "--jobs", str(jobs)),
                         env(problem_root, **settings), data / "server.log")
        wait_for("the server to answer", self._up, timeout=90, every=0.2)

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(self.url + "/api/v1/problems", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


class Worker(Process):
    def __init__(self, data: Path, problem_root: Path, jobs: int = 1, **settings: Any) -> None:
        super().__init__(jaxjudge("worker", "--data", str(data), "--jobs", str(jobs)),
                         env(problem_root, **settings), data / f"worker-{time.time()}.log")


def submit(http: httpx.Client, source: str, problem: str = "reinforce_grad") -> int:
    r = http.post("/api/v1/submissions", json={"problem": problem, "source": source})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def wait_done(http: httpx.Client, sid: int, timeout: float = 180) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/api/v1/submissions/{sid}").json()
        return body if body["status"] == "done" else None

    return wait_for(f"submission {sid} to be graded", done, timeout, every=0.2)  # type: ignore[no-any-return]


def events(http: httpx.Client, sid: int, timeout: float = 180) -> Iterator[tuple[str, Any]]:
    """The whole event stream: (event, data) pairs until `done`."""
    with http.stream("GET", f"/api/v1/submissions/{sid}/events",
                     timeout=httpx.Timeout(10, read=timeout)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for name, data in sse(r):  # the CLI's own parser: what `jaxjudge submit` reads
            yield name, data
            if name == "done":
                return


@contextlib.contextmanager
def served(factory: pytest.TempPathFactory, users: dict[str, str],
           problems: Callable[[Path], object] = hidden_tests_problem,
           **settings: Any) -> Iterator[tuple[Server, dict[str, str]]]:
    """A real server over `problems(root)` (the hidden-tests problem by default) with `users`
    (name -> role) and each one's API token; `settings` as `Server` takes them. Stopped on the
    way out."""
    root = factory.mktemp("problems")
    problems(root)
    data = factory.mktemp("data")
    tokens = {name: create_user(data, root, name, role) for name, role in users.items()}
    server = Server(data, root, **settings)
    try:
        yield server, tokens
    finally:
        server.stop()
