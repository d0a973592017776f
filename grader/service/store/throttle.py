"""Failed sign-ins, counted in the database so that every web server sees them. A name that
failed `login_limit` times from one address within `login_window` seconds, or ten times that
from all addresses together, waits before any password for it is checked again: guessing is
slowed to a crawl, and each refused try costs no password hash (Argon2: 64 MB, tens of ms).
An address that failed `login_address_limit` times, whatever the names, waits too: fresh
names cost a hash each, so spraying them must meet a limit of its own."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from grader.service.settings import Settings
from grader.service.store.models import LoginFailure

EVERYWHERE = 10  # the limit from all addresses together, in multiples of the per-address one


def wait_seconds(s: Session, name: str, client: str, settings: Settings,
                 now: dt.datetime, before: int | None = None) -> int:
    """0 if a password for `name` may be checked now, else how many seconds until it may;
    with `before`, counting only the failures recorded before that try's own row."""
    since = now - dt.timedelta(seconds=settings.login_window)
    recent = [LoginFailure.at > since]
    if before is not None:
        recent.append(LoginFailure.id < before)
    named = (*recent, LoginFailure.name == name)
    here = LoginFailure.client == client[:64]
    wait = 0.0
    for scope, limit in (((*named, here), settings.login_limit),
                         (named, settings.login_limit * EVERYWHERE),
                         ((*recent, here), settings.login_address_limit)):
        # A sliding window: the limit-th newest failure in it is the one that must age out.
        nth = s.scalar(select(LoginFailure.at).where(*scope)
                       .order_by(LoginFailure.at.desc()).offset(limit - 1).limit(1))
        if nth is not None:
            wait = max(wait, (nth - since).total_seconds())
    return math.ceil(wait)


def record_failure(s: Session, name: str, client: str, settings: Settings,
                   now: dt.datetime) -> int:
    """Counts a try as failed before its password is checked, so that tries in flight at
    once see each other (each is judged by the ones recorded before it); its row id."""
    s.execute(delete(LoginFailure).where(
        LoginFailure.at <= now - dt.timedelta(seconds=settings.login_window)))
    row = LoginFailure(name=name, client=client[:64], at=now)
    s.add(row)
    s.flush()
    failure_id = row.id
    s.commit()
    return failure_id


def withdraw(s: Session, failure_id: int) -> None:
    """A refused try was never checked: it does not count, nor lengthen the wait."""
    s.execute(delete(LoginFailure).where(LoginFailure.id == failure_id))
    s.commit()


def forget_failures(s: Session, name: str, client: str) -> None:
    """A right password from this address: its earlier typos no longer count."""
    s.execute(delete(LoginFailure).where(LoginFailure.name == name,
                                         LoginFailure.client == client[:64]))
    s.commit()
