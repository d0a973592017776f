"""docs/nginx.conf, run by a real nginx in front of a real `jaxjudge serve` that trusts it
(JAXJUDGE_TRUSTED_PROXIES=127.0.0.1): the address nginx forwards is the visitor's, and what a
visitor forges in X-Forwarded-For or X-Forwarded-Proto is not."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx

from tests.integration.service import ROOT, Server, create_user, free_port, wait_for
from tests.specs import hidden_tests_problem

NGINX = "/usr/sbin/nginx"


class Nginx:
    """nginx (master and one worker) on a loopback port, with docs/nginx.conf as its site."""

    def __init__(self, folder: Path, upstream_port: int) -> None:
        if not os.access(NGINX, os.X_OK):
            raise RuntimeError("nginx is missing: run 'make system-deps'")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir()
        site = (ROOT / "docs" / "nginx.conf").read_text()
        for old, new in (("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
                         ("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{self.port};")):
            assert site.count(old) == 1, old
            site = site.replace(old, new)
        (folder / "site.conf").write_text(site)
        temps = "\n".join(f"  {kind}_temp_path {folder / kind};"
                          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (folder / "nginx.conf").write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'};\nevents {{ worker_connections 256; }}\n"
            f"http {{\n  access_log off;\n{temps}\n  include {folder / 'site.conf'};\n}}\n")
        self.log = folder / "error.log"
        self.proc = subprocess.Popen([NGINX, "-e", str(self.log), "-p", str(folder),
                                      "-c", str(folder / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for("nginx to listen", self._up, timeout=30)

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"nginx exited: {self.log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown; the worker goes with it
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


def test_behind_nginx_the_forwarded_address_counts_and_forged_headers_do_not(
        tmp_path: Path) -> None:
    root = tmp_path / "problems"
    hidden_tests_problem(root)
    create_user(tmp_path, root, "gina")
    server = Server(tmp_path, root, jobs=0, login_limit=2, login_window=120,
                    trusted_proxies="127.0.0.1")
    nginx = Nginx(tmp_path / "nginx", server.port)

    def visit(address: str, password: str | None, headers: dict[str, str]) -> httpx.Response:
        """A sign-in (or, without a password, a first page) from `address`, through nginx."""
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=nginx.url, timeout=30, transport=transport) as browser:
            me = browser.get("/api/v1/me", headers=headers)
            if password is None:
                return me
            return browser.post("/login", headers=headers, data={
                "name": "gina", "password": password, "csrf_token": me.json()["csrf_token"]})

    try:
        # An attacker on nginx's own host claims a new address on every guess: nginx says
        # 127.0.0.1 (with $proxy_add_x_forwarded_for the forged one would come through, as
        # uvicorn skips trusted addresses from the right).
        guesses = [visit("127.0.0.1", f"guess{i}", {"X-Forwarded-For": f"203.0.113.{i}",
                                                    "Forwarded": f"for=198.51.100.{i}"})
                   for i in range(3)]
        assert [r.status_code for r in guesses] == [401, 401, 429]
        # The owner at 127.0.0.3 is someone else to the judge, though all come from nginx's
        # 127.0.0.1: the address nginx forwards is believed.
        owner = visit("127.0.0.3", "gina-pw", {})
        assert owner.status_code == 303, owner.text
        # Plain HTTP at nginx: the visitor's own X-Forwarded-Proto does not make it HTTPS.
        first = visit("127.0.0.4", None, {"X-Forwarded-Proto": "https"})
        assert first.status_code == 200
        assert "; secure" not in first.headers["set-cookie"].lower()
    finally:
        nginx.stop()
        server.stop()
