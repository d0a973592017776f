"""A learner's submission limits, counted in the session that then adds the submission: the
rate per window, how many may wait at once, and how many of one problem per UTC day."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.service.errors import TooMany
from grader.service.settings import Settings
from grader.service.store.models import Status, SubmissionRow, User, utcnow


def check_limits(s: Session, user: User, settings: Settings, problem: str,
                 run: bool = False) -> None:
    """Per user: at most rate_limit submissions per window (a Run: run_limit Runs per
    run_window, counted apart), and queued_cap waiting at once, Runs included; per learner
    and problem, daily_submissions_per_problem per UTC day (Runs apart: no hidden test answers
    them). Counted in `s`, the
    session that then adds the submission (in one stretch of the event loop, with no await
    between: this process cannot interleave two submits between count and insert). Across web
    processes on PostgreSQL, the user's row is locked (FOR UPDATE) until that session commits,
    so their submits are counted one at a time (SQLite ignores the lock: there, each web
    process can let one concurrent submit past, no more)."""
    s.execute(select(User.id).where(User.id == user.id).with_for_update())
    if not run:
        check_daily(s, user, settings, problem)
    limit, window = ((settings.run_limit, settings.run_window) if run
                     else (settings.rate_limit, settings.rate_window))
    since = utcnow() - dt.timedelta(seconds=window)
    recent = list(s.scalars(select(SubmissionRow.created).where(
        SubmissionRow.user_id == user.id, SubmissionRow.created > since,
        SubmissionRow.run.is_(run))
        .order_by(SubmissionRow.created.desc()).limit(limit)))
    if len(recent) >= limit:
        wait = (recent[-1] - since).total_seconds()
        what = "Runs" if run else "submissions"
        raise TooMany(f"at most {limit} {what} per {window} s",
                      retry_after=max(1, math.ceil(wait)))
    waiting = s.scalar(select(func.count()).where(
        SubmissionRow.user_id == user.id,
        SubmissionRow.status.in_([Status.QUEUED, Status.RUNNING]))) or 0
    if waiting >= settings.queued_cap:
        raise TooMany(f"{waiting} of your submissions are still waiting to be graded",
                      retry_after=max(1, math.ceil(settings.lease_seconds / 3)))


def check_daily(s: Session, user: User, settings: Settings, problem: str,
                now: dt.datetime | None = None) -> None:
    """At most daily_submissions_per_problem submissions of `problem` by a learner per UTC
    day (staff exempt; 0: no cap). Every row counts, graded or not: each is a submission that
    hidden tests answered or may still answer."""
    cap = settings.daily_submissions_per_problem
    if cap <= 0 or user.staff:
        return
    now = now or utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = select(SubmissionRow.id).where(
        SubmissionRow.user_id == user.id, SubmissionRow.problem == problem,
        SubmissionRow.run.is_(False), SubmissionRow.created >= midnight).limit(cap).subquery()
    if (s.scalar(select(func.count()).select_from(today)) or 0) >= cap:
        wait = (midnight + dt.timedelta(days=1) - now).total_seconds()
        hours, minutes = divmod(math.ceil(wait / 60), 60)
        raise TooMany(f"at most {cap} submissions of {problem} per day: you have made them "
                      f"all today; the next is possible after 00:00 UTC (in {hours} h "
                      f"{minutes:02d} min)", retry_after=max(1, math.ceil(wait)))
