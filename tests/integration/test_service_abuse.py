"""Every request is hostile: a battery of malformed ones, each with its status and never a 500;
the rate limit; fair order between learners."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.service import Server, create_user, served, submit, wait_done
from tests.specs import hidden_tests_problem

CAP = 64 * 1024


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    with served(tmp_path_factory, {n: "learner" for n in ("alice", "bob", "carol")}, jobs=0,
                rate_limit=4) as world:
        yield world


def chunks(body: bytes) -> Iterator[bytes]:
    for i in range(0, len(body), 65536):
        yield body[i:i + 65536]


def test_malformed_requests_get_their_4xx_and_never_a_500(
        web: tuple[Server, dict[str, str]]) -> None:
    server, tokens = web
    with server.client(tokens["alice"]) as alice:
        own = submit(alice, "x = 1\n")
    with server.client(tokens["bob"]) as bob:
        bobs = submit(bob, "y = 2\n")
    post = "/api/v1/submissions"
    j = {"Content-Type": "application/json"}
    battery: list[tuple[str, str, str, dict[str, object], int]] = [
        ("no auth", "GET", f"/api/v1/submissions/{own}", {"auth": None}, 401),
        ("bad token", "GET", f"/api/v1/submissions/{own}", {"auth": "forged"}, 401),
        ("not bearer", "GET", "/api/v1/submissions",
         {"auth": None, "headers": {"Authorization": "Basic x"}},
         401),
        ("another's id", "GET", f"/api/v1/submissions/{bobs}", {}, 404),
        ("another's events", "GET", f"/api/v1/submissions/{bobs}/events", {}, 404),
        ("missing id", "GET", "/api/v1/submissions/999999", {}, 404),
        ("huge id", "GET", f"/api/v1/submissions/{10**30}", {}, 422),
        ("id not a number", "GET", "/api/v1/submissions/abc", {}, 422),
        ("bad JSON", "POST", post, {"content": b"{not json", "headers": j}, 400),
        ("non-UTF-8 body", "POST", post, {"content": b'{"problem": "\xff"}', "headers": j}, 400),
        ("lone surrogate", "POST", post,
         {"content": b'{"problem": "reinforce_grad", "source": "\\ud800"}', "headers": j}, 400),
        ("JSON list", "POST", post, {"json": ["reinforce_grad"]}, 422),
        ("missing source", "POST", post, {"json": {"problem": "reinforce_grad"}}, 422),
        ("source a number", "POST", post, {"json": {"problem": "reinforce_grad", "source": 5}},
         422),
        ("unknown problem", "POST", post, {"json": {"problem": "nope", "source": "x"}}, 404),
        ("path as problem", "POST", post,
         {"json": {"problem": "../../etc/passwd", "source": "x"}}, 404),
        ("source over the cap", "POST", post,
         {"json": {"problem": "reinforce_grad", "source": "#" * (CAP + 1)}}, 413),
        ("huge body", "POST", post, {"content": b"x" * (4 << 20), "headers": j}, 413),
        ("huge chunked body", "POST", post,
         {"content": chunks(b" " * (4 << 20)), "headers": j}, 413),
        ("file not UTF-8", "POST", post,
         {"data": {"problem": "reinforce_grad"}, "files": {"file": ("a.py", b"\xff\xfe")}}, 400),
        ("file over the cap", "POST", post,
         {"data": {"problem": "reinforce_grad"}, "files": {"file": ("a.py", b"#" * (CAP + 1))}},
         413),
        ("form without file", "POST", post, {"data": {"problem": "reinforce_grad"}}, 400),
        ("text/plain", "POST", post, {"content": b"hello", "headers": {"Content-Type":
                                                                       "text/plain"}}, 400),
        ("bad idempotency key", "POST", post,
         {"json": {"problem": "reinforce_grad", "source": "x"},
          "headers": {"Idempotency-Key": "a b"}}, 400),
        ("wrong method", "DELETE", f"/api/v1/submissions/{own}", {}, 405),
        ("learner rejudges", "POST", "/api/v1/problems/reinforce_grad/rejudge", {}, 403),
        ("forged sign-in form", "POST", "/login",
         {"auth": None, "data": {"name": "alice", "password": "alice-pw"}}, 403),
        ("forged sign-out form", "POST", "/logout", {"auth": None, "data": {}}, 403),
        ("non-ASCII CSRF field", "POST", "/login",
         {"auth": None, "data": {"name": "alice", "password": "x", "csrf_token": "\u00e9"}}, 403),
        ("non-ASCII CSRF header", "POST", "/login",
         {"auth": None, "data": {"name": "alice", "password": "x"},
          "headers": {"X-CSRF-Token": "\u00e9".encode()}}, 403),
        ("no such page", "GET", "/api/v1/nothing", {}, 404),
    ]
    got = {}
    for name, method, path, kw, _ in battery:
        auth = kw.pop("auth", tokens["alice"])
        headers = dict(kw.pop("headers", {}))  # type: ignore[call-overload]
        if auth:
            headers["Authorization"] = f"Bearer {auth}"
        r = httpx.request(method, server.url + path, headers=headers, timeout=30,
                          **kw)  # type: ignore[arg-type]
        assert r.status_code < 500, (name, r.text)
        assert "error" in r.json(), (name, r.text)
        got[name] = r.status_code
    assert got == {name: status for name, *_, status in battery}


def test_a_signed_in_browser_needs_the_csrf_token_to_submit(
        web: tuple[Server, dict[str, str]]) -> None:
    server, _ = web
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        r = browser.post("/login", data={"name": "carol", "password": "wrong",
                                         "csrf_token": csrf})
        assert r.status_code == 401
        r = browser.post("/login", data={"name": "carol", "password": "carol-pw",
                                         "csrf_token": csrf, "next": "//evil.example/"})
        assert (r.status_code, r.headers["location"]) == (303, "/")
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "max-age" in cookie
        me = browser.get("/api/v1/me").json()
        assert me["user"] == "carol" and me["csrf_token"] != csrf  # a new session at sign-in
        body = {"problem": "reinforce_grad", "source": "x = 1\n"}
        assert browser.post("/api/v1/submissions", json=body).status_code == 403
        assert browser.post("/api/v1/submissions", json=body,
                            headers={"X-CSRF-Token": csrf}).status_code == 403  # the old one
        ok = browser.post("/api/v1/submissions", json=body,
                          headers={"X-CSRF-Token": me["csrf_token"]})
        assert ok.status_code == 201


def test_the_rate_limit_answers_429_with_retry_after(web: tuple[Server, dict[str, str]]) -> None:
    server, tokens = web
    with server.client(tokens["bob"]) as bob:
        statuses = [bob.post("/api/v1/submissions", json={"problem": "reinforce_grad",
                                                          "source": f"v = {i}\n"})
                    for i in range(6)]
        key = {"Idempotency-Key": "k1"}
    codes = [r.status_code for r in statuses]
    assert codes[:3] == [201] * 3 and codes[3:] == [429] * 3  # bob submitted once before
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60
    assert key  # (the replay of a key is tested where submissions are accepted)


def test_an_idempotency_key_replays_instead_of_submitting_twice(tmp_path: Path) -> None:
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    token = create_user(tmp_path, root, "dora")
    server = Server(tmp_path, root, jobs=0)
    try:
        with server.client(token) as http:
            body = {"problem": "reinforce_grad", "source": "z = 3\n"}
            first = http.post("/api/v1/submissions", json=body, headers={"Idempotency-Key": "a"})
            again = http.post("/api/v1/submissions", json=body, headers={"Idempotency-Key": "a"})
            other = http.post("/api/v1/submissions", json={**body, "source": "z = 4\n"},
                              headers={"Idempotency-Key": "a"})
            assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
            assert first.json()["id"] == again.json()["id"]
            assert again.headers["Idempotent-Replayed"] == "true"
            assert len(http.get("/api/v1/submissions").json()) == 1
    finally:
        server.stop()


def test_one_learners_backlog_does_not_starve_another(tmp_path: Path) -> None:
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    eve, fred = create_user(tmp_path, root, "eve"), create_user(tmp_path, root, "fred")
    server = Server(tmp_path, root, jobs=0)  # queue everything first, then start grading
    with server.client(eve) as e, server.client(fred) as f:
        backlog = [submit(e, f"syntax error {i} (\n") for i in range(6)]
        single = submit(f, "syntax error (\n")
    server.stop()
    server = Server(tmp_path, root, jobs=1)
    try:
        with server.client(eve) as e, server.client(fred) as f:
            started = {sid: wait_done(e, sid)["id"] for sid in backlog}
            mine = wait_done(f, single)
            eves = [e.get(f"/api/v1/submissions/{sid}").json() for sid in started]
    finally:
        server.stop()
    finished = sorted([(s["finished"], s["id"]) for s in eves] + [(mine["finished"], single)])
    order = [sid for _, sid in finished]
    assert order.index(single) <= 1, order  # graded first or second, not seventh


def test_guessing_a_password_is_throttled_per_address_and_per_name(tmp_path: Path) -> None:
    """An attacker guessing passwords: after login_limit failures from one address the name
    answers 429 even to the right password; a new X-Forwarded-For on every guess changes
    nothing, even from 127.0.0.1, as no proxy is configured; the owner, elsewhere, still signs
    in; and guessing from many addresses at once meets the limit on the name itself."""
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    for name in ("gina", "hugo"):
        create_user(tmp_path, root, name)
    server = Server(tmp_path, root, jobs=0, login_limit=2, login_window=120)

    def sign_in(address: str, name: str, password: str,
                headers: dict[str, str] | None = None) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=server.url, timeout=30, transport=transport) as browser:
            csrf = browser.get("/api/v1/me").json()["csrf_token"]
            r = browser.post("/login", headers=headers, data={
                "name": name, "password": password, "csrf_token": csrf})
            assert (browser.get("/api/v1/me").json()["user"] == name) == (r.status_code == 303)
            return r

    try:
        attacker = "127.0.0.1"  # where uvicorn believes X-Forwarded-For by default

        def forged(i: int) -> dict[str, str]:
            return {"X-Forwarded-For": f"203.0.113.{i}", "Forwarded": f"for=198.51.100.{i}"}

        assert [sign_in(attacker, "gina", f"guess{i}", forged(i)).status_code
                for i in range(2)] == [401] * 2
        refused = sign_in(attacker, "gina", "gina-pw", forged(2))  # even the right one, now
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 120
        assert "Too many failed sign-ins" in refused.text
        assert sign_in(attacker, "gina", "gina-pw").status_code == 429
        assert sign_in("127.0.0.3", "gina", "gina-pw").status_code == 303  # the owner, elsewhere
        # Ten addresses, two guesses each: twenty failures for one name, the limit everywhere.
        for host in range(10, 20):
            assert [sign_in(f"127.0.0.{host}", "hugo", "x").status_code
                    for _ in range(2)] == [401] * 2
        assert sign_in("127.0.0.30", "hugo", "hugo-pw").status_code == 429
        assert sign_in("127.0.0.3", "gina", "gina-pw").status_code == 303  # other names: fine
    finally:
        server.stop()


def test_guesses_sent_all_at_once_are_throttled_too(tmp_path: Path) -> None:
    """Many wrong passwords in flight together, from one address: each was checked against
    the failures recorded so far, and none was recorded until its hash was done, so a burst
    got far more than login_limit guesses. At most login_limit may be checked (401)."""
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    create_user(tmp_path, root, "ivan")
    server = Server(tmp_path, root, jobs=0, login_limit=3, login_window=120)

    def guess(i: int) -> int:
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=server.url, timeout=60, transport=transport) as browser:
            csrf = browser.get("/api/v1/me").json()["csrf_token"]
            return browser.post("/login", data={"name": "ivan", "password": f"guess{i}",
                                                "csrf_token": csrf}).status_code

    try:
        with concurrent.futures.ThreadPoolExecutor(24) as pool:
            codes = list(pool.map(guess, range(24)))
    finally:
        server.stop()
    assert set(codes) <= {401, 429}, codes
    assert codes.count(401) <= 3, codes


def test_the_session_cookie_is_secure_whenever_the_visitor_came_over_https(
        web: tuple[Server, dict[str, str]]) -> None:
    """Directly over HTTP, Secure would break sign-in; and with no proxy configured, a
    visitor's own X-Forwarded-Proto says nothing, even from 127.0.0.1 (behind a configured
    TLS proxy the cookie is Secure: test_service_conns)."""
    server, _ = web

    def cookie(headers: dict[str, str]) -> str:
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            r = browser.get("/api/v1/me", headers=headers)
            return r.headers["set-cookie"].lower()

    assert "; secure" not in cookie({"X-Forwarded-Proto": "https"})
    assert "; secure" not in cookie({})
