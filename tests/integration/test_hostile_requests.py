"""A hostile visitor against a real `jaxjudge serve`: bodies past the cap on every kind of route
(a file, an event stream, the API), JSON nested without end, junk headers, cookies and query
strings. The server must keep answering, never with a 500, and still stop on SIGTERM."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.integration.browser import chromium, have_chromium, screenshot, wait
from tests.integration.service import Server, create_user, served, submit
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


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    with served(tmp_path_factory, {"alice": "learner", "ines": "instructor"}, jobs=0) as world:
        yield world


def deep(depth: int) -> bytes:
    """A JSON object whose `source` is `depth` nested lists (or objects), well under the cap."""
    half = depth // 2
    nested = b'{"a":' * half + b"[" * half + b"]" * half + b"}" * half
    return b'{"problem": "reinforce_grad", "source": ' + nested + b"}"


def test_json_nested_without_end_is_never_a_500_on_any_route_that_takes_a_body(
        web: tuple[Server, dict[str, str]]) -> None:
    """50,000 levels raised RecursionError in the JSON parser: a 500 for client input. Routes
    that ignore a body may answer 2xx; the submission route refuses any nesting over 32."""
    server, tokens = web
    logged = len(server.log.read_text())
    spec = httpx.get(server.url + "/openapi.json", timeout=ANSWER_S).json()
    routes = {(m.upper(), p.replace("{problem_id}", "reinforce_grad"))
              for p, ops in spec["paths"].items() for m in ops if m != "get"}
    routes |= {("POST", "/problems/reinforce_grad/submit")}  # the editor's form (no schema)
    assert ("POST", "/api/v1/submissions") in routes
    for who in tokens:
        for method, path in sorted(routes):
            for kind in ("application/json", "application/problem+json", None):
                for depth in (50_000, 2_000, 200):
                    headers = {"Authorization": f"Bearer {tokens[who]}"}
                    if kind:
                        headers["Content-Type"] = kind
                    r = httpx.request(method, server.url + path, content=deep(depth),
                                      headers=headers, timeout=ANSWER_S)
                    assert r.status_code < 500, (who, method, path, kind, depth, r.text)
    with server.client(tokens["alice"]) as alice:
        r = alice.post("/api/v1/submissions", content=deep(50_000),
                       headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "nested" in r.json()["error"], r.text
        r = alice.post("/api/v1/submissions", content=deep(200),
                       headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "nested" in r.json()["error"], r.text
    assert answers(server)
    assert "Traceback" not in server.log.read_text()[logged:]


def test_junk_headers_cookies_and_query_strings_get_a_4xx_or_their_page_never_a_500(
        web: tuple[Server, dict[str, str]]) -> None:
    server, tokens = web
    logged = len(server.log.read_text())
    with server.client(tokens["alice"]) as alice:
        sid = submit(alice, "x = 1\n")
    junk = ["", "\u00e9", "9" * 4000, "1." + "9" * 4000, "-1.-1", "1.2.3", "[" * 4000,
            "%00", "a=b; c", "\"" * 1000, "=" * 2000]
    auth = {"Authorization": f"Bearer {tokens['alice']}"}
    bearer = {b"Authorization": auth["Authorization"].encode()}
    for value in junk:
        raw = value.encode("utf-8")
        probes: list[tuple[str, dict[bytes, bytes]]] = [
                (f"/api/v1/submissions/{sid}/events", {**bearer, b"Last-Event-ID": raw}),
                ("/api/v1/me", {b"Cookie": b"jaxjudge_session=" + raw}),
                ("/", {b"Cookie": raw}),
                ("/api/v1/me", {b"Authorization": b"Bearer " + raw}),
                ("/api/v1/submissions", {**bearer, b"Accept": raw}),
                ("/submissions/" + str(sid), {b"Cookie": b"jaxjudge_session=" + raw,
                                               b"Accept": b"text/html"})]
        for path, headers in probes:
            try:
                with httpx.stream("GET", server.url + path, headers=headers,
                                  timeout=ANSWER_S) as r:
                    assert r.status_code < 500, (path, value[:20], r.status_code)
            except httpx.LocalProtocolError:
                continue  # not even sendable as a header: no server sees it
    queries = ["a=1&" * 3000, "limit=" + "9" * 3000, "%ff%fe=%00", "=&=&==", "a[" * 3000,
               "next=" + "%2F" * 3000, "problem=" + "a" * 3000, "problem=%00&problem=%ff",
               "next=%00", "next=" + "[" * 3000]
    for q in queries:
        for path in ("/api/v1/submissions", "/api/v1/problems", "/login", "/"):
            r = httpx.get(f"{server.url}{path}?{q}", headers=auth, timeout=ANSWER_S)
            assert r.status_code < 500, (path, q[:20], r.status_code)
    for path in ("/problems/%00", "/problems/" + "%ff" * 1000, f"/submissions/{10**30}",
                 "/api/v1/problems/..%2F..%2Fetc%2Fpasswd", "/static/..%2F..%2Fapp.py",
                 "/static/docs/..%2F..%2Fcore.py", "/" + "a/" * 3000):
        r = httpx.get(server.url + path, headers=auth, timeout=ANSWER_S)
        assert r.status_code < 500 and r.status_code != 200, (path[:30], r.status_code)
    boundary = "b" * 60
    part = f"--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
    forms = [("application/x-www-form-urlencoded", b"a=1&" * 90_000),
             ("application/x-www-form-urlencoded", b"%" * 300_000),
             (f"multipart/form-data; boundary={boundary}", part.encode() * 4000),
             (f"multipart/form-data; boundary={boundary}", b"--" + boundary.encode() * 5000),
             ("multipart/form-data", b"x"), ("application/x-www-form-urlencoded", b"\xff\xfe")]
    for kind, body in forms:
        for path in ("/login", "/logout", "/problems/reinforce_grad/submit",
                     "/api/v1/submissions"):
            r = httpx.post(server.url + path, content=body, timeout=ANSWER_S,
                           headers={"Content-Type": kind, **auth})
            assert r.status_code < 500, (path, kind, body[:20], r.status_code)
    assert answers(server)
    assert "Traceback" not in server.log.read_text()[logged:]


def test_every_answer_has_the_csp_and_dynamic_ones_are_never_stored(
        web: tuple[Server, dict[str, str]]) -> None:
    """/docs and everything under it went out without a CSP, loading Swagger UI from a CDN
    with inline script; pages and API answers holding source code or reports were cacheable."""
    server, tokens = web
    with server.client(tokens["alice"]) as alice:
        sid = submit(alice, "secret = 1\n")
        paths = ["/docs", "/docs/", "/docs/oauth2-redirect", "/docsx", "/redoc", "/openapi.json",
                 "/nothing", "/api/v1/nothing", "/", "/login", "/healthz", "/api/v1/me",
                 "/api/v1/problems", f"/api/v1/submissions/{sid}", "/api/v1/submissions",
                 f"/submissions/{sid}", "/submissions", "/problems/reinforce_grad",
                 "/static/style.css", "/static/nothing.js"]
        for path in paths:
            for accept in ("application/json", "text/html"):
                r = alice.get(path, headers={"Accept": accept})
                assert r.status_code < 500, (path, r.status_code)
                csp = r.headers.get("content-security-policy", "")
                assert "default-src 'self'" in csp and "script-src 'self';" in csp, (path, csp)
                assert "unsafe" not in csp and "http" not in csp, (path, csp)
                if not path.startswith("/static/"):
                    assert "no-store" in r.headers.get("cache-control", ""), (path, r.headers)
        assert f"/submissions/{sid}" in alice.get("/submissions").text  # a real page, signed in
        assert alice.get(f"/submissions/{sid}").text.count("secret = 1") >= 1
        assert alice.get("/static/style.css").headers.get("cache-control") is None
        docs = alice.get("/docs")
        assert docs.status_code == 200 and "swagger-ui" in docs.text
        assert "http:" not in docs.text and "https:" not in docs.text and "//" not in docs.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", docs.text), docs.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
        assert any(a.endswith("swagger-ui.css") for a in assets), assets
        for asset in assets:
            r = alice.get(asset)
            assert r.status_code == 200 and len(r.content) > 0, asset
            assert "no-store" not in r.headers.get("cache-control", ""), asset


@pytest.mark.browser  # chromium() in its body: no fixture says so
def test_the_api_docs_render_under_the_csp_in_a_real_browser(
        web: tuple[Server, dict[str, str]], tmp_path: Path) -> None:
    server, _ = web
    if not have_chromium():
        pytest.fail("this test needs chromium and chromium-driver: run 'make setup'")
    with chromium(tmp_path) as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
            "window.violations = [];"
            "document.addEventListener('securitypolicyviolation', function (e) {"
            "  window.violations.push(e.violatedDirective + ' ' + e.blockedURI); });")})
        driver.get(server.url + "/docs")
        wait(driver, "Swagger UI to list the API's operations",
             lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock-summary-path"))
        shown = {e.text.strip() for e in driver.find_elements(
            By.CSS_SELECTOR, ".swagger-ui .opblock-summary-path")}
        assert "/api/v1/submissions" in {s.replace("\u200b", "") for s in shown}, shown
        driver.find_element(By.CSS_SELECTOR, ".opblock-post .opblock-summary").click()
        wait(driver, "an operation to open",
             lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock.is-open .responses-wrapper"))
        screenshot(driver, "api-docs")
        assert driver.execute_script("return window.violations") == []
        # The watch itself works: an inline script is refused, and seen refused.
        driver.execute_script("var s = document.createElement('script');"
                              "s.textContent = 'window.ran = 1'; document.body.appendChild(s);")
        wait(driver, "the refusal", lambda d: d.execute_script("return window.violations"))
        assert driver.execute_script("return window.ran") is None
