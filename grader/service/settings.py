"""The service's settings: one pydantic-settings object, from JAXJUDGE_* variables and flags."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from grader.errors import JudgeError


class Settings(BaseSettings):
    """Defaults embed everything in one data folder: SQLite database, SQLite queue, secret."""

    model_config = SettingsConfigDict(env_prefix="JAXJUDGE_", extra="ignore")

    data: Path = Path(".jaxjudge-data")
    database: str = ""  # default: SQLite (WAL) in the data folder
    queue: str = ""  # default: a SqliteHuey file in the data folder; redis://… → RedisHuey
    backend: Literal["local", "docker"] = "local"
    jobs: int = 1  # graders in this process; 0 = web only
    slot_base: int = 0  # first sandbox slot (jail uid 60000 + slot) graders here may take
    # Each grader keeps one bubblewrap jail started ahead (Python and jax imported), replaced
    # once spent; false: a jail is started when its submission is claimed.
    ready_jails: bool = True
    secret_key: str = ""  # default: generated once into <data>/secret_key (0600)
    source_cap: int = 64 * 1024
    rate_limit: int = 10  # submissions per user per rate_window seconds
    rate_window: int = 60
    run_limit: int = 10  # Runs (visible tests only, never counted) per user per run_window s
    run_window: int = 60
    login_limit: int = 10  # failed sign-ins per name and address per login_window seconds
    login_window: int = 300
    login_address_limit: int = 50  # failed sign-ins per address, whatever the names, per window
    hash_concurrency: int = 2  # password hashes (64 MiB each) one process computes at once
    hash_waiting: int = 16  # sign-ins that may wait for one (a thread each); beyond: 503
    hash_wait_s: float = 10.0  # the longest a sign-in waits for a hash slot
    queued_cap: int = 20  # one user's submissions waiting or running at once
    # A learner's submissions of one problem per UTC day (0: no cap; staff are exempt): what
    # hidden tests can tell about their inputs (verdicts only) is bounded by this per day.
    daily_submissions_per_problem: int = 50
    lease_seconds: float = 60.0  # a grader renews its claim every lease/3
    max_attempts: int = 3
    stop_seconds: float = 300.0  # SIGTERM: how long graders may take to finish what they hold
    session_days: int = 7
    poll_seconds: float = 0.1  # how often graders and event streams look for work
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses or networks,
    # comma-separated ("127.0.0.1", "10.0.0.0/8,::1"). Empty: none, every peer is the visitor.
    trusted_proxies: str = ""
    header_timeout: float = 10.0  # a request head must be in within this (s) of connecting
    body_timeout: float = 20.0  # and its body within this (s) of the head
    keep_alive_timeout: int = 5  # an idle kept-alive connection closes after this (s)
    max_connections: int = 1000  # open connections at once; a request beyond them gets 503
    # Bytes of one stored report's JSON: a larger one is stored cut down (verdicts and scores
    # kept, values and long text dropped), whatever a submission returned or printed.
    report_cap: int = 1024 * 1024
    streams_per_user: int = 4  # open event streams of one user (429 past it) per process
    streams_total: int = 200  # open event streams per web process (503 past it)
    stream_seconds: float = 600.0  # a stream's lifetime; clients reconnect with Last-Event-ID
    # Streams wake when a watched submission changes (PostgreSQL LISTEN/NOTIFY; on SQLite, the
    # writes of this process's graders) and poll everything watched every safety_poll_seconds
    # for a notification lost. On SQLite with graders in another process alive, streams poll
    # every poll_seconds instead (no signal crosses processes). False: always poll_seconds.
    stream_notify: bool = True
    safety_poll_seconds: float = 3.0

    def database_url(self) -> str:
        return self.database or f"sqlite:///{(self.data / 'jaxjudge.db').resolve()}"

    def queue_url(self) -> str:
        return self.queue or f"sqlite:///{(self.data / 'queue.db').resolve()}"

    def prepare(self) -> None:
        """Creates the data folder (private) when the defaults live in it."""
        self.data.mkdir(parents=True, exist_ok=True, mode=0o700)

    def secret(self) -> str:
        """The key that signs session cookies and CSRF tokens: given, or made once and kept."""
        if self.secret_key:
            return self.secret_key
        self.prepare()
        path = self.data / "secret_key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            key = path.read_text().strip()
            if len(key) < 32:
                raise JudgeError(f"{path}: secret key too short; remove it") from None
            return key
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
