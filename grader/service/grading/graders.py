"""Graders: claim a submission, grade it through the judge with a heartbeat, record the grade."""

from __future__ import annotations

import fcntl
import json
import logging
import queue
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from grader.batch.class_grading import ungraded
from grader.data.cache import compile_cache_dir
from grader.judging.execution import ready_key
from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem
from grader.model.report import TestResult, fit
from grader.model.submission import Submission
from grader.sandbox.factory import make_sandbox, ready_sandbox
from grader.sandbox.protocol import Sandbox
from grader.service.settings import Settings
from grader.service.store import leases
from grader.service.store.db import Database
from grader.service.store.models import Event, SubmissionRow
from grader.service.store.notices import announce
from grader.verdict import Verdict

log = logging.getLogger("jaxjudge.grader")

GAVE_UP = ("the judge could not grade this submission: its grader stopped {n} times before "
           "finishing (a judge fault, not yours); it does not count — please submit again")


T = TypeVar("T")

EVENT_CAP = 16 * 1024  # bytes of one live event's test: its verdict and message


def retrying(what: str, fn: Callable[[], T], budget_s: float, sid: int) -> T:
    """`fn()`, tried again while the database is out for up to `budget_s`: a grade already
    paid for is worth waiting for (writing it is idempotent), rather than grading it again."""
    deadline = time.monotonic() + budget_s
    pause = 0.5
    while True:
        try:
            return fn()
        except Exception:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("%s for submission %d failed; retrying in %.1f s", what, sid, pause,
                        extra={"submission": sid})
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def json_safe(value: Any) -> Any:
    """JSON-safe (numpy scalars become floats), as stored in a JSON column."""
    return json.loads(json.dumps(value, default=float))


class LiveEvents:
    """A grade's live events, written to the database by a thread of their own.

    The judge hears each test's result in the thread that reads the jail's frames, on the
    submission's clock: a write that waited out a database outage there (5 s per event) was
    time the learner's code was charged for, and once ended an accepted grade as a time limit.
    A live event is a courtesy (the report holds every test): one the database missed is
    dropped, and after a first miss the others are tried once each, so a grade's events never
    wait for more than one outage."""

    FLUSH_S = 10.0  # at the end of a grade, for the events still queued

    def __init__(self, db: Database, claim: leases.Claim) -> None:
        self.db, self.claim = db, claim
        self.queue: queue.SimpleQueue[tuple[int, dict[str, Any]] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._write, daemon=True,
                                       name=f"events-{claim.submission_id}")
        self.thread.start()

    def put(self, u: int, test: dict[str, Any]) -> None:
        self.queue.put((u, test))

    def close(self) -> None:
        """Waits (boundedly) for the queued events: written before the grade is recorded, so a
        stream never ends before them."""
        self.queue.put(None)
        self.thread.join(self.FLUSH_S)

    def _write(self) -> None:
        sid, budget = self.claim.submission_id, 5.0
        while (item := self.queue.get()) is not None:
            u, test = item

            def add(u: int = u, test: dict[str, Any] = test) -> None:
                with self.db.session() as s:
                    s.add(Event(submission_id=sid, attempt=self.claim.attempt, seq=u,
                                test=json_safe(test)))
                    announce(s, sid)  # its streams wake when this commits

            try:
                retrying("a test event", add, budget, sid)
            except Exception:
                budget = 0.0
                log.warning("test event %d of submission %d dropped", u, sid,
                            extra={"submission": sid})


class Slots:
    """Sandbox slots (jail uid 60000 + slot) held by file locks, so that every grader on this
    machine, in any process, has its own; a dead process's locks go with it."""

    def __init__(self, base: int, folder: Path | None = None) -> None:
        self.base = base
        self.folder = folder or Path(tempfile.gettempdir()) / "jaxjudge-slots"
        self.folder.mkdir(mode=0o700, exist_ok=True)
        self.local = threading.local()
        self.lock = threading.Lock()
        self.held: list[Any] = []

    def mine(self) -> int:
        slot: int | None = getattr(self.local, "slot", None)
        if slot is None:
            slot = self._take()
            self.local.slot = slot
        return slot

    def _take(self) -> int:
        with self.lock:
            for slot in range(self.base, self.base + 64):
                f = open(self.folder / f"slot-{slot}.lock", "a")  # noqa: SIM115 (kept open)
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    f.close()
                    continue
                self.held.append(f)
                return slot
        raise RuntimeError(f"no free sandbox slot in {self.base}..{self.base + 63}")


class Graders:
    """What each queue task runs, in a consumer's worker thread: claim, grade, record."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.slots = Slots(settings.slot_base)
        self.problems: dict[str, Problem] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # set on SIGTERM: finish what we hold, take nothing
        self.busy = 0  # submissions being graded in this process now
        self.sandboxes: dict[int, Sandbox] = {}  # per slot, kept: its jail started ahead

    def sandbox(self, slot: int) -> Sandbox:
        """The slot's sandbox, made on its first use; with ready jails on, it starts one jail
        of the default limits ahead at once (after a grade, one of that grade's limits)."""
        with self.lock:
            box = self.sandboxes.get(slot)
            made = box is None
            if box is None:
                box = self.sandboxes[slot] = make_sandbox(
                    self.settings.backend, compile_cache_dir(), slot=slot,
                    keep_ready=self.settings.ready_jails)
        if made and (ready := ready_sandbox(box)) is not None:
            ready.prepare(ready_key())  # nothing unless it keeps jails ready
        return box

    def close(self) -> None:
        """Kills and cleans every slot's ready jail."""
        with self.lock:
            boxes, self.sandboxes = list(self.sandboxes.values()), {}
        for box in boxes:
            if (ready := ready_sandbox(box)) is not None:
                ready.close()

    def problem(self, problem_id: str) -> Problem:
        with self.lock:
            if problem_id not in self.problems:
                self.problems[problem_id] = load_problem(problem_id)
            return self.problems[problem_id]

    def grade_next(self) -> int | None:
        """One unit of capacity: grades the fairest claimable submission, if any."""
        if self.stopping.is_set():
            return None
        slot = self.slots.mine()
        try:  # on a slot's first call, its first jail starts ahead of the claim
            self.sandbox(slot)
        except Exception:  # grading says why (no engine, no cgroup), under the claim
            log.warning("cannot start slot %d's jail ahead", slot, exc_info=True)
        with self.db.session() as s:
            claim = leases.claim_next(s, leases.grader_id(slot), self.settings.lease_seconds,
                                      self.settings.max_attempts)
        if claim is None:
            return None
        sid = claim.submission_id
        log.info("grading submission %d, attempt %d", sid, claim.attempt,
                 extra={"submission": sid, "attempt": claim.attempt, "slot": slot})
        with self.lock:
            self.busy += 1
        try:
            return self._hold(claim, slot)
        finally:
            with self.lock:
                self.busy -= 1

    def _hold(self, claim: leases.Claim, slot: int) -> int:
        """Grades a claimed submission under its heartbeat and records the grade."""
        sid = claim.submission_id
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(claim, stop), daemon=True,
                                name=f"heartbeat-{claim.submission_id}")
        beat.start()
        try:
            report = self._grade(claim, slot)
        except Exception:
            log.error("grading submission %d failed", sid, exc_info=True,
                      extra={"submission": sid, "attempt": claim.attempt})
            with self.db.session() as s:
                leases.release(s, claim)
            return sid
        finally:
            stop.set()
            beat.join()

        def record() -> bool:
            with self.db.session() as s:
                return leases.finish(s, claim, report)

        if retrying("recording the grade", record, self.settings.lease_seconds, sid):
            log.info("submission %d graded: %s", sid, report["verdict"],
                     extra={"submission": sid, "attempt": claim.attempt,
                            "verdict": report["verdict"], "score": report["score"]})
        else:
            log.info("submission %d: attempt %d's grade came second; dropped", sid,
                     claim.attempt, extra={"submission": sid, "attempt": claim.attempt})
        return sid

    def _grade(self, claim: leases.Claim, slot: int) -> dict[str, Any]:
        with self.db.session() as s:
            sub = s.get(SubmissionRow, claim.submission_id)
            assert sub is not None
            problem_id, name, source, run = sub.problem, sub.filename, sub.source, sub.run
        problem = self.problem(problem_id)

        events = LiveEvents(self.db, claim)

        def on_test(u: int, result: TestResult) -> None:
            # No values in a live event (the report keeps them): a second copy of every
            # argument, expected and returned array (or a check's picture data) would double
            # what a grade stores.
            test = {k: v for k, v in result.to_dict().items() if k not in ("shown", "plot")}
            events.put(u, fit({"tests": [test]}, EVENT_CAP)["tests"][0])

        sandbox = self.sandbox(slot)
        # A Run: only the visible calls are sent to the jail, only visible units reported.
        try:
            report = grade_submission(problem, Submission(name, source), sandbox,
                                      on_test=on_test, visible_only=run)
        finally:
            events.close()
        return fit(json_safe(report.to_dict(reveal=True)), self.settings.report_cap)

    def _heartbeat(self, claim: leases.Claim, stop: threading.Event) -> None:
        while not stop.wait(self.settings.lease_seconds / 3):
            try:
                with self.db.session() as s:
                    if not leases.renew(s, claim, self.settings.lease_seconds):
                        return  # rejudged or taken over: its grade will not count anyway
            except Exception:  # a database out for less than a lease: the next beat succeeds
                log.warning("heartbeat for %d failed", claim.submission_id,
                            extra={"submission": claim.submission_id})

    def sweep(self) -> int:
        """Puts back what dead graders held, ends what ran out of attempts, and returns how many
        claimable submissions exist (the caller tops up queue capacity to match)."""
        with self.db.session() as s:
            leases.expire_dead_graders(s)
            for sub in leases.exhausted(s, self.settings.max_attempts):
                message = GAVE_UP.format(n=sub.attempts)
                try:
                    report = ungraded(self.problem(sub.problem), sub.filename,
                                      Verdict.JUDGE_ERROR, message, self.settings.backend)
                except Exception:
                    report = {"problem": sub.problem, "submission": sub.filename, "tests": [],
                              "verdict": str(Verdict.JUDGE_ERROR), "score": 0.0}
                report["feedback"] = [message]
                leases.give_up(s, sub, json_safe(report))
            return leases.claimable_count(s, self.settings.max_attempts)
