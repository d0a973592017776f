"""Prometheus text exposition, computed from the database so that every grader host counts."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from grader.service.store import fleet, leases
from grader.service.store.models import Status, SubmissionRow
from grader.service.web.streams import Streams

# Seconds: a grade of the real problem takes 2-10 s; a queue before a deadline, minutes.
BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
ALIVE_WITHIN_S = 30.0  # three of the longest sweep periods (10 s) without a heartbeat: dead


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    tags = ",".join(f'{k}="{v}"' for k, v in (labels or {}).items())
    return f"{name}{{{tags}}} {value:g}" if tags else f"{name} {value:g}"


def _head(name: str, kind: str, text: str) -> list[str]:
    return [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]


def _histogram(s: Session, name: str, column: InstrumentedAttribute[float | None],
               text: str) -> list[str]:
    """Cumulative buckets in one query over every graded submission (so it only grows)."""
    cols = [func.sum(case((column <= le, 1), else_=0)) for le in BUCKETS]
    row = s.execute(select(func.count(column), func.coalesce(func.sum(column), 0.0), *cols)
                    .where(column.is_not(None))).one()
    out = _head(name, "histogram", text)
    out += [_line(f"{name}_bucket", float(n or 0), {"le": f"{le:g}"})
            for le, n in zip(BUCKETS, row[2:], strict=True)]
    out += [_line(f"{name}_bucket", float(row[0]), {"le": "+Inf"}),
            _line(f"{name}_sum", float(row[1])), _line(f"{name}_count", float(row[0]))]
    return out


def render(s: Session, queue_depth: int | None, max_attempts: int) -> str:
    by_status = dict(s.execute(select(SubmissionRow.status, func.count())
                               .group_by(SubmissionRow.status)).tuples().all())
    verdicts: Iterable[tuple[str | None, bool, int]] = s.execute(
        select(SubmissionRow.verdict, SubmissionRow.run, func.count())
        .where(SubmissionRow.status == Status.DONE)
        .group_by(SubmissionRow.verdict, SubmissionRow.run)).tuples().all()
    processes, slots = fleet.alive(s, ALIVE_WITHIN_S)
    out = _head("jaxjudge_queue_up", "gauge", "1 when the work queue answered this scrape.")
    out.append(_line("jaxjudge_queue_up", 0 if queue_depth is None else 1))
    if queue_depth is not None:
        out += _head("jaxjudge_queue_depth", "gauge", "Tasks waiting in the work queue.")
        out.append(_line("jaxjudge_queue_depth", queue_depth))
    out += _head("jaxjudge_submissions_claimable", "gauge",
                 "Submissions a grader may take now (queued, or running with a lapsed lease).")
    out.append(_line("jaxjudge_submissions_claimable", leases.claimable_count(s, max_attempts)))
    out += _head("jaxjudge_submissions", "gauge", "Submissions by status.")
    out += [_line("jaxjudge_submissions", by_status.get(st, 0), {"status": str(st)})
            for st in Status]
    # A Run (visible tests only, counts for nothing) is graded work, but its verdicts are not
    # the class's: `kind` keeps them apart.
    out += _head("jaxjudge_verdicts_total", "counter",
                 "Graded submissions by verdict and kind (submit, or a Run of the visible tests).")
    out += [_line("jaxjudge_verdicts_total", n,
                  {"verdict": str(v), "kind": "run" if run else "submit"})
            for v, run, n in verdicts]
    out += _head("jaxjudge_graders_alive", "gauge",
                 f"Grader slots in processes with a heartbeat in the last {ALIVE_WITHIN_S:g} s.")
    out.append(_line("jaxjudge_graders_alive", slots))
    out += _head("jaxjudge_grader_processes_alive", "gauge", "Grader processes alive.")
    out.append(_line("jaxjudge_grader_processes_alive", processes))
    out += _histogram(s, "jaxjudge_submission_latency_seconds", SubmissionRow.latency_s,
                      "Seconds from submission to its recorded verdict.")
    out += _histogram(s, "jaxjudge_grade_duration_seconds", SubmissionRow.grade_s,
                      "Seconds the attempt that recorded the verdict took to grade.")
    return "\n".join(out) + "\n"


def process(statements: int, streams: Streams) -> str:
    """This web process's own counters (each process of a fleet is scraped on its own)."""
    out = _head("jaxjudge_db_statements_total", "counter",
                "SQL statements this process sent to the database.")
    out.append(_line("jaxjudge_db_statements_total", statements))
    out += _head("jaxjudge_event_streams_open", "gauge", "Event streams open in this process.")
    out.append(_line("jaxjudge_event_streams_open", streams.open_count))
    out += _head("jaxjudge_event_streams_refused_total", "counter",
                 "Event streams refused: past a user's cap (429) or the process's (503).")
    out += [_line("jaxjudge_event_streams_refused_total", streams.refused[cap], {"cap": cap})
            for cap in ("user", "process")]
    out += _head("jaxjudge_event_poll_ticks_total", "counter",
                 "Ticks of the shared event poller (none while no stream is open).")
    out.append(_line("jaxjudge_event_poll_ticks_total", streams.ticks))
    out += _head("jaxjudge_event_poll_queries_total", "counter",
                 "Queries the shared event poller sent: one per tick, however many streams.")
    out.append(_line("jaxjudge_event_poll_queries_total", streams.queries))
    out += _head("jaxjudge_event_notifications_total", "counter",
                 "Submission changes heard: from the database (LISTEN) or this process's writes.")
    out += [_line("jaxjudge_event_notifications_total", streams.notices[source],
                  {"source": source}) for source in ("database", "process")]
    return "\n".join(out) + "\n"
