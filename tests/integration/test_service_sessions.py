"""Sessions and tokens end when they are ended: a cookie kept from before sign-out, every
session after "sign out everywhere", a rotated or revoked token all answer as signed out, on
every server of a PostgreSQL fleet. And a flood of sign-ins costs bounded memory."""

from __future__ import annotations

import concurrent.futures
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from grader.service.store.db import Database
from grader.service.store.users import create_user as create_in
from tests.integration.servers import Postgres
from tests.integration.service import Server, create_user, env, jaxjudge, served
from tests.specs import hidden_tests_problem

COOKIE = "jaxjudge_session"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    with served(tmp_path_factory,
                {n: "learner" for n in ("alice", "bob", "carol", "dave")}, jobs=0) as world:
        yield world


def signed_in(url: str, name: str) -> httpx.Client:
    """A browser signed in as `name` (password `<name>-pw`), cookie jar and all."""
    browser = httpx.Client(base_url=url, timeout=30)
    csrf = browser.get("/api/v1/me").json()["csrf_token"]
    r = browser.post("/login", data={"name": name, "password": f"{name}-pw",
                                     "csrf_token": csrf})
    assert r.status_code == 303, r.text
    return browser


def replay(url: str, cookie: str) -> str | None:
    """Who the server says a copy of the cookie belongs to, from a fresh client."""
    with httpx.Client(base_url=url, timeout=30, cookies={COOKIE: cookie}) as other:
        user: str | None = other.get("/api/v1/me").json()["user"]
        return user


def test_a_cookie_kept_from_before_sign_out_is_signed_out(
        web: tuple[Server, dict[str, str]]) -> None:
    server, _ = web
    with closing(signed_in(server.url, "alice")) as browser:
        kept = browser.cookies[COOKIE]
        assert replay(server.url, kept) == "alice"
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert replay(server.url, kept) is None
    with httpx.Client(base_url=server.url, timeout=30, cookies={COOKIE: kept}) as thief:
        assert thief.get("/api/v1/submissions").status_code == 401
        page = thief.get("/submissions", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_sign_out_everywhere_ends_every_session_by_page_and_by_api(
        web: tuple[Server, dict[str, str]]) -> None:
    server, tokens = web
    one, two = signed_in(server.url, "bob"), signed_in(server.url, "bob")
    with closing(one), closing(two):
        kept = [one.cookies[COOKIE], two.cookies[COOKIE]]
        account = one.get("/account")
        assert account.status_code == 200 and "Sign out everywhere" in account.text
        assert account.text.count("UTC</td>") >= 4  # both sessions listed, with their times
        csrf = one.get("/api/v1/me").json()["csrf_token"]
        assert one.post("/account/sign-out-everywhere", data={}).status_code == 403  # no CSRF
        r = one.post("/account/sign-out-everywhere", data={"csrf_token": csrf})
        assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert [replay(server.url, c) for c in kept] == [None, None]
    # By the API, with the account's token: both browsers are out, the token still works.
    one, two = signed_in(server.url, "bob"), signed_in(server.url, "bob")
    with closing(one), closing(two), server.client(tokens["bob"]) as api:
        kept = [one.cookies[COOKIE], two.cookies[COOKIE]]
        assert api.delete("/api/v1/me/sessions").json() == {"ended": 2}
        assert [replay(server.url, c) for c in kept] == [None, None]
        assert api.get("/api/v1/me").json()["user"] == "bob"


def test_a_rotated_token_fails_at_once_and_the_new_one_works(
        web: tuple[Server, dict[str, str]]) -> None:
    server, tokens = web
    old = tokens["carol"]
    with server.client(old) as api:
        [row] = api.get("/api/v1/me/tokens").json()
        rotated = api.post(f"/api/v1/me/tokens/{row['id']}/rotate")
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["token"]
        assert api.get("/api/v1/me").status_code == 401
    with server.client(new) as api:
        assert api.get("/api/v1/me").json()["user"] == "carol"
        extra = api.post("/api/v1/me/tokens", json={"label": "laptop"}).json()
        assert [t["label"] for t in api.get("/api/v1/me/tokens").json()] == ["created", "laptop"]
        assert api.delete(f"/api/v1/me/tokens/{extra['id']}").status_code == 204
        assert api.delete(f"/api/v1/me/tokens/{extra['id']}").status_code == 404
    with server.client(extra["token"]) as api:
        assert api.get("/api/v1/me").status_code == 401
    with server.client(tokens["alice"]) as alice:  # another's token is not hers to rotate
        assert alice.post(f"/api/v1/me/tokens/{row['id']}/rotate").status_code == 404
    # The page: rotate with the form, the new secret shown once in the answer.
    with closing(signed_in(server.url, "carol")) as browser:
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        page = browser.post(f"/account/tokens/{row['id']}/rotate", data={"csrf_token": csrf})
        assert page.status_code == 200 and 'id="new-token-value"' in page.text
        newest = page.text.split('id="new-token-value">')[1].split("<")[0]
    with server.client(new) as api:
        assert api.get("/api/v1/me").status_code == 401
    with server.client(newest) as api:
        assert api.get("/api/v1/me").json()["user"] == "carol"


def admin(server: Server, *args: str) -> str:
    return subprocess.run(jaxjudge("admin", *args, "--data", str(server.data)),
                          env=env(server.root), capture_output=True, text=True, timeout=60,
                          check=True).stdout


def test_an_admin_revokes_and_rotates_tokens_and_ends_sessions(
        web: tuple[Server, dict[str, str]]) -> None:
    server, tokens = web
    with closing(signed_in(server.url, "dave")) as browser:
        kept = browser.cookies[COOKIE]
    assert "sessions ended: 1" in admin(server, "sign-out", "dave")
    assert replay(server.url, kept) is None
    added = admin(server, "add-token", "dave", "--label", "ci")
    token_id, token = (line.split()[1] for line in added.splitlines())
    listed = admin(server, "tokens", "dave")
    assert "\tci\t" in listed and token not in listed  # never the secret
    rotated = admin(server, "rotate-token", "dave", token_id).splitlines()[1].split()[1]
    with server.client(token) as old, server.client(rotated) as new:
        assert old.get("/api/v1/me").status_code == 401
        assert new.get("/api/v1/me").json()["user"] == "dave"
    assert "revoked: 1" in admin(server, "revoke-token", "dave", token_id)
    with server.client(rotated) as api:
        assert api.get("/api/v1/me").status_code == 401
    with server.client(tokens["dave"]) as api:  # the other token: untouched
        assert api.get("/api/v1/me").json()["user"] == "dave"
    assert "revoked: 1" in admin(server, "revoke-token", "dave", "--all")
    with server.client(tokens["dave"]) as api:
        assert api.get("/api/v1/me").status_code == 401


def test_ending_a_session_or_a_token_holds_on_every_server(postgres: Postgres,
                                                         tmp_path: Path) -> None:
    """Two web servers on one PostgreSQL database: what one ends, the other refuses."""
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    url = postgres.new_database()
    db = Database(url)
    db.migrate()
    create_in(db, "erin", "learner", "erin-pw")
    token = create_in(db, "erin", "learner", "erin-pw", exist_ok=True)[1]
    db.engine.dispose()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Server(tmp_path / "a", root, jobs=0, database=url, secret_key="s" * 48)
    b = Server(tmp_path / "b", root, jobs=0, database=url, secret_key="s" * 48)
    try:
        with closing(signed_in(a.url, "erin")) as browser:
            kept = browser.cookies[COOKIE]
            assert replay(b.url, kept) == "erin"
            csrf = browser.get("/api/v1/me").json()["csrf_token"]
            assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
        assert replay(b.url, kept) is None
        with a.client(token) as api:
            row = api.get("/api/v1/me/tokens").json()[-1]
            new = api.post(f"/api/v1/me/tokens/{row['id']}/rotate").json()["token"]
            hostile = [api.post(f"/api/v1/me/tokens/{2**31}/rotate"),
                       api.delete(f"/api/v1/me/tokens/{2**40}"),
                       api.post("/api/v1/me/tokens", json={"label": "a\x00b"}),
                       api.post("/api/v1/me/tokens", json={"label": "x" * 65})]
            assert all(400 <= r.status_code < 500 for r in hostile), [r.text for r in hostile]
        with b.client(token) as old, b.client(new) as fresh:
            assert old.get("/api/v1/me").status_code == 401
            assert fresh.get("/api/v1/me").json()["user"] == "erin"
    finally:
        a.stop()
        b.stop()


def memory_mb(pid: int) -> dict[str, float]:
    """The process's resident memory now and at its peak (VmHWM), in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return fields


def test_a_flood_of_sign_ins_with_fresh_names_costs_bounded_memory(tmp_path: Path) -> None:
    """32 sign-ins at once, random names, from four addresses: each is a 64 MiB Argon2 hash.
    Unbounded, they ran all at once (the thread pool allows 40): ~2 GB. Bounded, the server's
    peak memory grows by under 300 MB, the extra sign-ins are told 503 with Retry-After, and
    other requests are still answered meanwhile."""
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    create_user(tmp_path, root, "fay")
    server = Server(tmp_path, root, jobs=0)
    flood = 32
    ready = threading.Barrier(flood + 1, timeout=120)

    def sign_in(i: int) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=f"127.0.0.{2 + i % 4}")
        with httpx.Client(base_url=server.url, timeout=120, transport=transport) as browser:
            csrf = browser.get("/api/v1/me").json()["csrf_token"]
            ready.wait()
            return browser.post("/login", data={"name": secrets.token_hex(8), "password": "x",
                                                "csrf_token": csrf})

    try:
        with closing(signed_in(server.url, "fay")):  # a hash done: libraries in, a fair base
            pass
        before = memory_mb(server.pid)
        with concurrent.futures.ThreadPoolExecutor(flood) as pool:
            futures = [pool.submit(sign_in, i) for i in range(flood)]
            ready.wait()
            time.sleep(0.3)  # the hashes are under way
            start = time.monotonic()
            probe = httpx.get(server.url + "/api/v1/problems", timeout=30)
            probe_s = time.monotonic() - start
            answers = [f.result(timeout=180) for f in futures]
        after = memory_mb(server.pid)
    finally:
        server.stop()
    codes = [r.status_code for r in answers]
    assert set(codes) <= {401, 503}, codes
    assert codes.count(401) >= 2, codes  # some were checked (and found wrong)
    assert all(r.headers.get("Retry-After") for r in answers if r.status_code == 503)
    grew = after["VmHWM"] - before["VmHWM"]
    print(f"peak grew {grew:.0f} MB; probe {probe_s:.2f} s; {codes.count(503)} of {flood} 503")
    assert grew < 300, (before, after, codes)
    assert probe.status_code == 200 and probe_s < 10, probe_s


def test_failed_sign_ins_from_one_address_are_limited_whatever_the_names(
        tmp_path: Path) -> None:
    """Spraying fresh names from one address: each costs a hash, and no name reaches its own
    limit. After login_address_limit failures the address waits (429), even for a right
    password; other addresses do not."""
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    create_user(tmp_path, root, "gus")
    server = Server(tmp_path, root, jobs=0, login_address_limit=4, login_window=120)

    def sign_in(address: str, name: str, password: str) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=server.url, timeout=30, transport=transport) as browser:
            csrf = browser.get("/api/v1/me").json()["csrf_token"]
            return browser.post("/login", data={"name": name, "password": password,
                                                "csrf_token": csrf})

    try:
        sprayer = "127.0.0.2"
        assert [sign_in(sprayer, f"n{i}", "x").status_code for i in range(4)] == [401] * 4
        refused = sign_in(sprayer, "n99", "x")
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 120
        assert sign_in(sprayer, "gus", "gus-pw").status_code == 429
        assert sign_in("127.0.0.3", "gus", "gus-pw").status_code == 303
    finally:
        server.stop()
