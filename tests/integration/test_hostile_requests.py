"""A hostile visitor against a real `jaxjudge serve`: bodies past the cap on every kind of route
(a file, an event stream, the API), JSON nested without end, junk headers, cookies and query
strings. The server must keep answering, never with a 500, and still stop on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.service import Server, create_user, submit
from tests.specs import hidden_tests_problem

CAP = 64 * 1024 * 6 + 16 * 1024  # the body cap of the default settings
PAST_CAP = 420_000
ANSWER_S = 10.0  # a server that answers at all answers /healthz in well under this


def send_raw(server: Server, method: str, path: str, headers: dict[str, str], body: bytes,
             chunked: bool) -> bytes:
    """One request on a raw socket, the way an attacker sends it; returns the status line (or
    b"" when the server closed without one). Bounded: socket timeouts, no retries."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {len(body)}\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_S) as s:
        try:
            s.sendall(head.encode() + b"\r\n")
            if chunked:
                for i in range(0, len(body), 65536):
                    part = body[i:i + 65536]
                    s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
                s.sendall(b"0\r\n\r\n")
            else:
                s.sendall(body)
        except OSError:
            pass  # the server answered 413 and closed before the body was all sent: fine
        try:
            return s.recv(64).split(b"\r\n")[0]
        except OSError:
            return b""


def answers(server: Server) -> bool:
    try:
        return httpx.get(server.url + "/healthz", timeout=ANSWER_S).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Server, str]:
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    data = tmp_path / "data"
    data.mkdir()
    token = create_user(data, root, "alice")
    return Server(data, root, jobs=0), token  # web only: nothing is graded here


def test_a_body_past_the_cap_on_any_route_leaves_the_server_answering_and_stoppable(
        fresh: tuple[Server, str]) -> None:
    """Once a chunked body passed the cap, the cap handed back an empty body at once, forever:
    the disconnect listener of a file or streaming response spun on it with the event loop
    held, so /healthz never answered and SIGTERM was ignored."""
    server, token = fresh
    try:
        with server.client(token) as alice:
            sid = submit(alice, "x = 1\n")  # never graded: its event stream stays open
        auth = {"Authorization": f"Bearer {token}"}
        targets = [("GET", "/static/live.js", {}), ("POST", "/static/style.css", {}),
                   ("GET", f"/api/v1/submissions/{sid}/events", auth),
                   ("POST", "/api/v1/submissions", {**auth, "Content-Type": "application/json"}),
                   ("PUT", "/healthz", {}), ("GET", "/docs", {}), ("POST", "/login", {})]
        body = b"[" * PAST_CAP
        for method, path, headers in targets:
            for chunked in (True, False):
                status = send_raw(server, method, path, headers, body, chunked)
                assert answers(server), (method, path, chunked, status)
                if not chunked or path == "/api/v1/submissions":
                    assert status.startswith(b"HTTP/1.1 413"), (method, path, chunked, status)
                assert not status.startswith(b"HTTP/1.1 5"), (method, path, chunked, status)
        with httpx.Client(base_url=server.url, timeout=ANSWER_S) as anyone:
            assert anyone.get("/static/live.js").status_code == 200
        server.proc.send_signal(signal.SIGTERM)
        try:
            assert server.proc.wait(timeout=30) == 0
        except subprocess.TimeoutExpired:
            pytest.fail("the server ignored SIGTERM after the attack")
        assert "Traceback" not in server.log.read_text()
    finally:
        server.kill()
