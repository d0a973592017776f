"""Real PostgreSQL and Redis servers from Debian's packages, on loopback ports in temp dirs."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import redis

from tests.integration.service import free_port, wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _pg_user() -> tuple[int, int]:
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


class Postgres:
    """A PostgreSQL cluster of our own, run as the `postgres` user (initdb refuses root)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError("PostgreSQL is missing: run 'make system-deps'")
        self.port = free_port()
        # Not under pytest's tmp folder: that is private to root, and postgres must enter it.
        self.dir = Path(tempfile.mkdtemp(prefix="jaxjudge-pg-"))
        uid, gid = _pg_user()
        os.chown(self.dir, uid, gid)
        self.data = self.dir / "data"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8")
        self.start()

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        uid, gid = _pg_user()
        subprocess.run([str(PG_BIN / tool), *args], user=uid, group=gid, extra_groups=[],
                       cwd=self.dir, check=True, capture_output=True, timeout=timeout)

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-o", opts,
                  "-l", str(self.dir / "log"))

    def stop(self) -> None:
        """A fast shutdown: clients are disconnected, as in a database outage."""
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", str(self.data))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on this cluster; its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def close(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A redis-server of our own; `restart()` starts a new one on the same port, empty unless
    it persists (then it reloads its append-only file, as a production Redis would)."""

    def __init__(self, persist: bool = False) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is missing: run 'make system-deps'")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="jaxjudge-redis-"))
        self.persist = persist
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.dir), "--save", "",
                "--appendonly", "yes" if self.persist else "no", "--daemonize", "no"]
        with (self.dir / "log").open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        client = redis.Redis(port=self.port, socket_timeout=1)
        wait_for("redis to answer", lambda: self._pings(client), timeout=30)

    def _pings(self, client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: whatever it held in memory is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def restart(self, down_s: float = 0.0) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()

    def close(self) -> None:
        try:
            self.kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
