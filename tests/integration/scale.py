"""A judge spread over processes as over machines: a web server, graders, PostgreSQL, Redis."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from grader.service.store.db import Database
from grader.service.store.models import Event, SubmissionRow
from grader.service.store.users import create_user
from tests.integration.servers import Postgres, Redis
from tests.integration.service import (
    ACCEPTED,
    EXAMPLES,
    Server,
    Worker,
    env,
    jaxjudge,
    wait_for,
)

SLOT_BASE = 30  # jail uids 60030+: this suite's graders, apart from everyone else's
WRONG = (EXAMPLES / "wrong_answer" / "exact_gradient.py").read_text()
# Accepted, and slow enough (3 tests x 1 s) to be caught mid-grade.
SLOW = ACCEPTED.replace("def reinforce_grad(", "import time as _t\n\n\ndef reinforce_grad(", 1)
SLOW = SLOW.replace("):\n", "):\n    _t.sleep(1.0)\n", 1)


def cli_verdicts(root: Path, sources: dict[str, str], tmp: Path) -> dict[str, str]:
    """What `jaxjudge grade` says of each source: the verdict the service must agree with."""
    out = {}
    for name, source in sources.items():
        path = tmp / f"{name}.py"
        path.write_text(source)
        run = subprocess.run(jaxjudge("grade", "reinforce_grad", str(path), "--format", "json"),
                             env=env(root), capture_output=True, text=True, timeout=300)
        out[name] = json.loads(run.stdout)["verdict"]
    return out


class Cluster:
    """A fresh database on the shared PostgreSQL, this test's Redis, a web-only server and
    graders as separate processes, all configured as separate machines would be."""

    def __init__(self, pg: Postgres, redis: Redis, root: Path, data: Path,
                 **settings: Any) -> None:
        self.pg, self.redis, self.root, self.data = pg, redis, root, data
        self.settings = {"database": pg.new_database(), "queue": redis.url,
                         "slot_base": SLOT_BASE, "secret_key": "s" * 48, **settings}
        self.db = Database(str(self.settings["database"]))
        self.db.migrate()
        self.workers: list[Worker] = []
        self.server = Server(data, root, jobs=0, **self.settings)

    def token(self, name: str) -> str:
        return create_user(self.db, name, "learner", None, exist_ok=False)[1]

    def admin(self) -> str:
        return create_user(self.db, "root", "admin", None, exist_ok=False)[1]

    def worker(self, jobs: int = 1) -> Worker:
        w = Worker(self.data, self.root, jobs=jobs, **self.settings)
        self.workers.append(w)
        return w

    def client(self, token: str | None = None) -> httpx.Client:
        return self.server.client(token)

    def close(self) -> None:
        for w in self.workers:
            w.kill()
        self.server.stop()
        self.db.engine.dispose()

    def rows(self) -> list[SubmissionRow]:
        with self.db.session() as s:
            return list(s.scalars(select(SubmissionRow).order_by(SubmissionRow.id)))

    def status_of(self, sid: int) -> tuple[str, int, str | None]:
        with self.db.session() as s:
            sub = s.get(SubmissionRow, sid)
            assert sub is not None
            return sub.status, sub.attempts, sub.grader

    def wait_all_done(self, n: int, timeout: float) -> list[SubmissionRow]:
        def done() -> list[SubmissionRow] | None:
            rows = self.rows()
            return rows if len(rows) == n and all(r.status == "done" for r in rows) else None

        return wait_for(f"{n} submissions to be graded", done, timeout, every=1.0)  # type: ignore[no-any-return]

    def events_per_attempt(self) -> dict[tuple[int, int], list[int]]:
        with self.db.session() as s:
            rows = s.execute(select(Event.submission_id, Event.attempt, Event.seq)).all()
        out: dict[tuple[int, int], list[int]] = {}
        for sid, attempt, seq in rows:
            out.setdefault((sid, attempt), []).append(seq)
        return out

    def graded_log_lines(self, logs: str = "worker-*.log") -> Counter[int]:
        """How many times each submission's grade was recorded, from every grader's JSON log:
        the first completed grade wins, and a second must never be written."""
        seen: Counter[int] = Counter()
        for path in self.data.glob(logs):
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("{"):
                    entry = json.loads(line)
                    if "graded:" in entry.get("msg", "") and "submission" in entry:
                        seen[int(entry["submission"])] += 1
        return seen

    def logged(self, text: str) -> int:
        return sum(p.read_text(errors="replace").count(text) for p in self.data.glob("*.log"))

    def count(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(SubmissionRow)) or 0)


def assert_graded_once_as_the_cli_says(cluster: Cluster, expected: dict[int, str],
                                       tests_per_grade: int,
                                       logs: str = "worker-*.log") -> list[SubmissionRow]:
    rows = cluster.wait_all_done(len(expected), timeout=600)
    got = {r.id: r.verdict for r in rows}
    assert got == expected
    assert all(r.counts for r in rows)
    recorded = cluster.graded_log_lines(logs)
    assert {sid: recorded[sid] for sid in expected} == dict.fromkeys(expected, 1)
    events = cluster.events_per_attempt()
    for r in rows:  # the recorded attempt's live events: every test once
        seqs = events.get((r.id, r.attempts), [])
        assert sorted(seqs) == list(range(tests_per_grade)), (r.id, r.attempts, seqs)
    return rows
