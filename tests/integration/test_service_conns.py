"""Slow and forged connections against a real `jaxjudge serve`: half-sent requests are closed
by their deadlines while everyone else is served, and forwarding headers are believed only
from a proxy the operator named."""

from __future__ import annotations

import socket
import statistics
import time
from pathlib import Path

import httpx

from grader.service.settings import Settings
from tests.integration.service import Server
from tests.specs import hidden_tests_problem

HEAD = b"GET /healthz HTTP/1.1\r\nHost: judge\r\n"
SLOW_BODY = (b"POST /login HTTP/1.1\r\nHost: judge\r\n"
             b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n"
             b"\r\nname=")
OPENING = {  # what each kind sends at once; the trickling ones then send a byte every 0.5 s
    "silent": b"",
    "slowloris": HEAD,  # a head that never ends, a header byte at a time
    "slow body": SLOW_BODY,  # a whole head, then the body a byte at a time
    "kept alive, then slowloris": HEAD + b"\r\n" + HEAD,  # one answer, then as slowloris
}
TRICKLE = {"slowloris": b"a", "slow body": b"a", "kept alive, then slowloris": b"a"}


def closed_by_server(s: socket.socket) -> bool:
    """Whether the server has closed `s` (answers it may have sent first are read away)."""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


def test_the_default_deadlines_close_a_half_sent_request_within_30_s() -> None:
    settings = Settings()
    assert settings.header_timeout + settings.body_timeout <= 30
    assert settings.keep_alive_timeout <= 30
    assert settings.max_connections > 200  # 200 half-sent ones must not refuse anyone
    assert settings.trusted_proxies == ""


def test_200_half_sent_connections_are_closed_and_others_are_served_meanwhile(
        tmp_path: Path) -> None:
    """Silent, slowloris, slow-body and kept-alive-then-slowloris connections, 50 of each:
    every one closed by the server within its deadline (2 s here; bounded wait 20 s), and a
    normal request answered quickly while they are open."""
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    server = Server(tmp_path, root, jobs=0, header_timeout=2, body_timeout=2)
    sockets: list[tuple[str, socket.socket]] = []
    try:
        for i in range(200):
            kind = list(OPENING)[i % 4]
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            s.sendall(OPENING[kind])
            s.setblocking(False)
            sockets.append((kind, s))
        opened = time.monotonic()
        with httpx.Client(base_url=server.url, timeout=10) as http:
            took = []
            for _ in range(5):
                start = time.monotonic()
                assert http.get("/healthz", headers={"Connection": "close"}).status_code == 200
                took.append(time.monotonic() - start)
        open_meanwhile = sum(not closed_by_server(s) for _, s in sockets)
        assert statistics.median(took) < 1.0, took
        open_ = dict(enumerate(sockets))
        deadline = opened + 20
        while open_ and time.monotonic() < deadline:
            for i, (kind, s) in list(open_.items()):
                if closed_by_server(s):
                    del open_[i]
                elif kind in TRICKLE:
                    try:
                        s.send(TRICKLE[kind])
                    except OSError:
                        del open_[i]
            time.sleep(0.5)
        waited = time.monotonic() - opened
        left = sorted({kind for kind, _ in open_.values()})
        assert not open_, f"{len(open_)} of 200 still open after {waited:.0f} s: {left}"
        print(f"200 half-sent connections closed {waited:.1f} s after opening "
              f"({open_meanwhile} open while /healthz took {statistics.median(took):.3f} s)")
        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert http.get("/healthz").status_code == 200
    finally:
        for _, s in sockets:
            s.close()
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log and "internal error" not in log, log[-3000:]


def sign_in(server: Server, address: str, name: str, password: str,
            headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server.url, timeout=30, transport=transport) as browser:
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        return browser.post("/login", headers=headers, data={
            "name": name, "password": password, "csrf_token": csrf})


def cookie(server: Server, address: str, headers: dict[str, str]) -> str:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server.url, timeout=30, transport=transport) as browser:
        return browser.get("/api/v1/me", headers=headers).headers["set-cookie"].lower()


def test_forwarding_headers_are_believed_from_the_configured_proxy_only(
        tmp_path: Path) -> None:
    """JAXJUDGE_TRUSTED_PROXIES=127.0.0.1: from there, X-Forwarded-For names the visitor (the
    sign-in limit counts per forwarded address) and X-Forwarded-Proto: https makes the cookie
    Secure; from 127.0.0.2, not named, both are ignored."""
    from tests.integration.service import create_user

    root = tmp_path / "problems"
    hidden_tests_problem(root)
    create_user(tmp_path, root, "gina")
    server = Server(tmp_path, root, jobs=0, login_limit=2, login_window=120,
                    trusted_proxies="127.0.0.1")
    try:
        assert "; secure" in cookie(server, "127.0.0.1", {"X-Forwarded-Proto": "https"})
        assert "; secure" not in cookie(server, "127.0.0.1", {})
        assert "; secure" not in cookie(server, "127.0.0.2", {"X-Forwarded-Proto": "https"})
        via = {"X-Forwarded-For": "203.0.113.7"}
        assert [sign_in(server, "127.0.0.1", "gina", f"guess{i}", via).status_code
                for i in range(2)] == [401] * 2
        assert sign_in(server, "127.0.0.1", "gina", "gina-pw", via).status_code == 429
        # Another visitor behind the same proxy, and the untrusted peer that claims to be the
        # throttled one, are each themselves.
        other = {"X-Forwarded-For": "203.0.113.8"}
        assert sign_in(server, "127.0.0.1", "gina", "gina-pw", other).status_code == 303
        assert sign_in(server, "127.0.0.2", "gina", "gina-pw", via).status_code == 303
    finally:
        server.stop()
