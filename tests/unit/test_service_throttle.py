"""The sign-in throttle's sliding window, on a real SQLite database with the clock injected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from grader.service.errors import TooMany
from grader.service.settings import Settings
from grader.service.store.db import Database
from grader.service.store.limits import check_daily, check_limits
from grader.service.store.models import SubmissionRow, User, utcnow
from grader.service.store.throttle import forget_failures, record_failure, wait_seconds

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_the_limit_frees_up_as_the_oldest_failures_age_out(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'j.db'}")
    db.migrate()
    settings = Settings(login_limit=3, login_window=100)
    with db.session() as s:
        for t in (0, 10, 20):
            assert wait_seconds(s, "ann", "1.2.3.4", settings, at(t)) == 0
            record_failure(s, "ann", "1.2.3.4", settings, at(t))
        # Three failures in the window: the first ages out at t=100, then one try is free.
        assert wait_seconds(s, "ann", "1.2.3.4", settings, at(25)) == 75
        assert wait_seconds(s, "ann", "1.2.3.4", settings, at(99.5)) == 1
        assert wait_seconds(s, "ann", "1.2.3.4", settings, at(100)) == 0
        record_failure(s, "ann", "1.2.3.4", settings, at(100))
        assert wait_seconds(s, "ann", "1.2.3.4", settings, at(101)) == 9  # now t=10's turn
        # Another address and another name are not held back by ann's from 1.2.3.4 ...
        assert wait_seconds(s, "ann", "5.6.7.8", settings, at(101)) == 0
        assert wait_seconds(s, "bob", "1.2.3.4", settings, at(101)) == 0
        # ... until the name has failed ten times the limit from everywhere together.
        for i in range(30):
            record_failure(s, "ann", f"10.0.0.{i}", settings, at(102))
        assert wait_seconds(s, "ann", "5.6.7.8", settings, at(103)) == 99
        # A right password from an address forgets only that address's failures.
        forget_failures(s, "ann", "1.2.3.4")
        assert wait_seconds(s, "ann", "1.2.3.4", settings, at(103)) == 99  # still everywhere
        forget_failures(s, "ann", "10.0.0.0")
        assert wait_seconds(s, "ann", "5.6.7.8", settings, at(103)) == 0


def test_an_address_spraying_fresh_names_meets_a_limit_of_its_own(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'j.db'}")
    db.migrate()
    settings = Settings(login_limit=3, login_address_limit=5, login_window=100)
    with db.session() as s:
        for i in range(5):
            assert wait_seconds(s, f"name{i}", "1.2.3.4", settings, at(i)) == 0
            record_failure(s, f"name{i}", "1.2.3.4", settings, at(i))
        assert wait_seconds(s, "fresh", "1.2.3.4", settings, at(10)) == 90  # t=0 must age out
        assert wait_seconds(s, "fresh", "5.6.7.8", settings, at(10)) == 0  # another address
        assert wait_seconds(s, "fresh", "1.2.3.4", settings, at(100)) == 0


def test_the_daily_cap_counts_one_problem_per_utc_day_and_spares_staff(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    db.migrate()
    settings = Settings(daily_submissions_per_problem=2)
    late = dt.datetime(2026, 1, 1, 23, 59, 30)
    with db.session() as s:
        ann, ines = User(name="ann"), User(name="ines", role="instructor")
        s.add_all([ann, ines])
        s.flush()
        for when, problem in ((T0, "p"), (late, "p"), (late, "q"),
                              (dt.datetime(2025, 12, 31, 23, 59, 59), "p")):
            s.add(SubmissionRow(user_id=ann.id, problem=problem, filename="f.py", source=b"",
                             sha256="", created=when))
        s.flush()
        with pytest.raises(TooMany) as refused:
            check_daily(s, ann, settings, "p", late)
        assert refused.value.retry_after == 30  # seconds to the next UTC midnight
        check_daily(s, ann, settings, "q", late)  # another problem: its own count
        check_daily(s, ann, settings, "p", dt.datetime(2026, 1, 2, 0, 0, 0))  # a new day
        check_daily(s, ines, settings, "p", late)  # staff are exempt
        check_daily(s, ann, Settings(daily_submissions_per_problem=0), "p", late)  # no cap


def test_runs_and_submissions_are_limited_apart(tmp_path: Path) -> None:
    """Runs have their own rate limit and are outside the submission rate and the daily cap;
    two of each, at limits of two: each kind is refused by its own count alone."""
    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    db.migrate()
    settings = Settings(rate_limit=2, run_limit=2, daily_submissions_per_problem=1)
    with db.session() as s:
        ann = User(name="ann")
        s.add(ann)
        s.flush()

        def made(run: bool) -> None:
            s.add(SubmissionRow(user_id=ann.id, problem="p", filename="f.py", source=b"",
                                sha256="", created=utcnow(), run=run))
            s.flush()

        made(run=True)
        made(run=True)
        with pytest.raises(TooMany) as refused:
            check_limits(s, ann, settings, "p", run=True)
        assert "Runs" in str(refused.value) and (refused.value.retry_after or 0) >= 1
        check_limits(s, ann, settings, "p")  # two Runs: no submission counted, even today
        made(run=False)
        with pytest.raises(TooMany):  # the daily cap of 1, now reached by a submission
            check_limits(s, ann, settings, "p")
        check_limits(s, ann, settings, "q")
        made(run=False)
        with pytest.raises(TooMany) as refused:
            check_limits(s, ann, settings, "q")
        assert "submissions per" in str(refused.value)
