"""Passwords: Argon2 hashes, and a gate that bounds how many a process computes at once."""

from __future__ import annotations

import threading

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if hashed is None:
        _hasher.hash(password)  # same time whether or not the account exists
        return False
    return _hasher.verify(password, hashed)


class Busy(Exception):
    """Too many password hashes running and waiting in this process: try again shortly."""


class HashGate:
    """Bounds the password hashes (Argon2: 64 MiB each) a process computes at once, and how
    many sign-ins may wait for one: a flood of sign-ins costs at most `running` x 64 MiB and
    `running + waiting` threads; the rest are refused at once (`Busy`) instead of queueing."""

    def __init__(self, running: int, waiting: int, wait_s: float) -> None:
        self.slots = threading.BoundedSemaphore(max(1, running))
        self.admit = max(1, running) + max(0, waiting)
        self.wait_s = wait_s
        self.lock = threading.Lock()
        self.inside = 0  # running and waiting

    def verify(self, password: str, hashed: str | None) -> bool:
        with self.lock:
            if self.inside >= self.admit:
                raise Busy
            self.inside += 1
        try:
            if not self.slots.acquire(timeout=self.wait_s):
                raise Busy
            try:
                return verify_password(password, hashed)
            finally:
                self.slots.release()
        finally:
            with self.lock:
                self.inside -= 1
