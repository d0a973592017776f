"""Once the API has answered 201 the submission is graded: SIGKILL of the server or a grader
mid-grade loses nothing, a grade is recorded once, and a grader that keeps dying ends it as a
judge error that does not count."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.integration.service import (
    Server,
    Worker,
    create_user,
    events,
    submit,
    wait_done,
    wait_for,
)
from tests.specs import hidden_tests_problem

SLOW_ACCEPTED = '''
import time
import jax
import jax.numpy as jnp


def reinforce_grad(seed, logits, reward_table, n_samples):
    time.sleep(0.4)  # long enough to be killed mid-grade
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                     shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(logits)
    return jnp.mean(reward_table[actions][:, None] * score, axis=0)
'''


@pytest.fixture
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("problems")
    hidden_tests_problem(path)
    return path


def running(http: httpx.Client, sid: int, attempt: int) -> bool:
    body = http.get(f"/api/v1/submissions/{sid}").json()
    return bool(body["status"] == "running" and body["attempts"] == attempt)


def test_a_server_killed_mid_grade_grades_it_after_restart(root: Path, tmp_path: Path) -> None:
    token = create_user(tmp_path, root, "alice")
    server = Server(tmp_path, root, jobs=1)
    try:
        with server.client(token) as http:
            sid = submit(http, SLOW_ACCEPTED)
            wait_for("the grade to start", lambda: running(http, sid, 1), timeout=60)
        server.kill()
        server = Server(tmp_path, root, jobs=1)  # same data folder, lease still unexpired
        with server.client(token) as http:
            done = wait_done(http, sid, timeout=120)
            stream = list(events(http, sid))
            mine = http.get("/api/v1/submissions").json()
    finally:
        server.stop()
    assert (done["verdict"], done["attempts"], done["counts"]) == ("accepted", 2, True)
    assert [s["id"] for s in mine] == [sid]  # one submission, recorded once
    assert sum(1 for name, _ in stream if name == "test") == 5  # the last attempt's only


def test_a_killed_worker_loses_nothing_and_three_deaths_end_in_judge_error(
        root: Path, tmp_path: Path) -> None:
    token = create_user(tmp_path, root, "alice")
    server = Server(tmp_path, root, jobs=0, lease_seconds=6)  # web only: graders elsewhere
    try:
        with server.client(token) as http:
            sid = submit(http, SLOW_ACCEPTED)
            worker = Worker(tmp_path, root, lease_seconds=6)
            wait_for("worker 1 to start grading", lambda: running(http, sid, 1), timeout=90)
            worker.kill()
            worker = Worker(tmp_path, root, lease_seconds=6)
            done = wait_done(http, sid, timeout=120)
            assert (done["verdict"], done["attempts"]) == ("accepted", 2)
            # A grader that dies on every attempt: three deaths, then the judge gives up.
            doomed = submit(http, SLOW_ACCEPTED + "\n# again\n")
            for attempt in (1, 2, 3):
                wait_for(f"attempt {attempt}", partial(running, http, doomed, attempt),
                         timeout=90)
                worker.kill()
                if attempt < 3:
                    worker = Worker(tmp_path, root, lease_seconds=6)
            worker = Worker(tmp_path, root, lease_seconds=6)  # its sweeper ends it
            end = wait_done(http, doomed, timeout=60)
            worker.stop()
    finally:
        server.stop()
    assert (end["verdict"], end["counts"], end["attempts"]) == ("judge_error", False, 3)
    assert "not yours" in " ".join(end["report"]["feedback"])
