"""The online judge over real HTTP: a real `jaxjudge serve` grading through bubblewrap."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.service import (
    ACCEPTED,
    EXAMPLES,
    Server,
    env,
    events,
    jaxjudge,
    served,
    submit,
    wait_done,
)
from tests.specs import SECRET_DIGITS

WRONG = (EXAMPLES / "wrong_answer" / "raw_logits.py").read_text()
# Prints every argument it gets: hidden inputs included, if anything let them through.
HOSTILE = '''
import numpy as np


def reinforce_grad(seed, logits, reward_table, n_samples):
    print("ARGS", seed, logits.tolist(), reward_table.tolist(), flush=True)
    raise ValueError(f"{seed} {logits.tolist()} {reward_table.tolist()}")
'''


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    with served(tmp_path_factory,
                {"alice": "learner", "bob": "learner", "ines": "instructor"}, jobs=1,
                run_limit=2) as world:
        yield world


def leaks(text: str) -> list[str]:
    return [s for s in SECRET_DIGITS if s in text]


def cli_grade(root: Path, source: str, tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "reinforce_grad.py"
    path.write_text(source)
    out = subprocess.run(jaxjudge("grade", "reinforce_grad", str(path), "--format", "json"),
                         env=env(root), capture_output=True, text=True, timeout=300).stdout
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("source", [ACCEPTED, WRONG, HOSTILE], ids=["accepted", "wrong", "hostile"])
def test_a_learner_gets_the_cli_verdict_live_and_never_a_hidden_value(
        world: tuple[Server, dict[str, str]], source: str, tmp_path: Path) -> None:
    server, tokens = world
    with server.client(tokens["alice"]) as alice, server.client(tokens["ines"]) as ines:
        sid = submit(alice, source)
        stream = list(events(alice, sid))
        learner = alice.get(f"/api/v1/submissions/{sid}").json()
        full = ines.get(f"/api/v1/submissions/{sid}").json()
    tests = [data["test"] for name, data in stream if name == "test"]
    assert [name for name, _ in stream][-1] == "done"
    assert len(tests) == len(learner["report"]["tests"]) == 5  # 4 fixed-seed tests + 1 check
    assert tests[0]["visible"]  # visible units are judged, and streamed, first
    verdict = stream[-1][1]["verdict"]
    assert verdict == learner["verdict"] == learner["report"]["verdict"] == full["verdict"]
    cli = cli_grade(server.root, source, tmp_path)
    assert (verdict, learner["score"]) == (cli["verdict"], cli["score"])
    assert leaks(json.dumps(learner)) == []
    assert leaks(json.dumps(stream)) == []
    if verdict != "accepted":  # the instructor's full report has the hidden values
        assert leaks(json.dumps(full)) != []
    if source is HOSTILE:
        assert verdict == "runtime_error"
        assert "ARGS 0.0 [0.0, 0.0]" in learner["report"]["output"]  # visible output is shown


def test_a_learner_cannot_read_another_learners_submission(
        world: tuple[Server, dict[str, str]]) -> None:
    server, tokens = world
    with server.client(tokens["alice"]) as alice, server.client(tokens["bob"]) as bob:
        sid = submit(alice, "syntax error (\n")
        for path in (f"/api/v1/submissions/{sid}", f"/api/v1/submissions/{sid}/events"):
            r = bob.get(path)
            assert (r.status_code, r.json()) == (404, {"error": "no such submission"})
        assert [s["id"] for s in bob.get("/api/v1/submissions").json()] == []
        assert sid in [s["id"] for s in alice.get("/api/v1/submissions").json()]
        assert bob.get("/api/v1/gradebook").status_code == 403
        wait_done(alice, sid)


def test_an_instructor_sees_every_submission_the_gradebook_and_can_rejudge(
        world: tuple[Server, dict[str, str]]) -> None:
    server, tokens = world
    with server.client(tokens["bob"]) as bob, server.client(tokens["ines"]) as ines:
        sid = submit(bob, ACCEPTED)
        assert wait_done(bob, sid)["verdict"] == "accepted"
        listed = ines.get("/api/v1/problems/reinforce_grad/submissions").json()
        assert {"id": sid, "user": "bob"}.items() <= next(
            s for s in listed if s["id"] == sid).items()
        book = {(r["user"], r["problem"]): r for r in ines.get("/api/v1/gradebook").json()}
        assert book[("bob", "reinforce_grad")]["best_score"] == 1.0
        csv = ines.get("/api/v1/gradebook.csv")
        assert csv.headers["content-type"].startswith("text/csv")
        assert "bob,reinforce_grad,1.0000" in csv.text
        r = ines.post("/api/v1/problems/reinforce_grad/rejudge")
        assert r.status_code == 200 and r.json()["requeued"] >= 1
        again = wait_done(bob, sid)
        assert (again["verdict"], again["attempts"]) == ("accepted", 1)


def test_jaxjudge_submit_prints_the_report_with_grades_exit_codes(
        world: tuple[Server, dict[str, str]], tmp_path: Path) -> None:
    server, tokens = world
    codes = {}
    for name, source in [("ok", ACCEPTED), ("bad", WRONG)]:
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        done = subprocess.run(jaxjudge("submit", "reinforce_grad", str(path), "--server",
                                       server.url, "--format", "json"),
                              env={**env(server.root), "JAXJUDGE_TOKEN": tokens["alice"]},
                              capture_output=True, text=True, timeout=300)
        codes[name] = done.returncode
        report = json.loads(done.stdout)
        assert report["submission"] == path.name and leaks(done.stdout) == []
    assert codes == {"ok": 0, "bad": 1}
    bad = subprocess.run(jaxjudge("submit", "reinforce_grad", str(tmp_path / "ok.py"),
                                  "--server", server.url, "--token", "forged"),
                         env=env(server.root), capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "401" in bad.stderr


def test_the_api_is_documented(world: tuple[Server, dict[str, str]]) -> None:
    server, _ = world
    assert httpx.get(server.url + "/docs", timeout=10).status_code == 200
    paths = httpx.get(server.url + "/openapi.json", timeout=10).json()["paths"]
    assert {"/api/v1/problems", "/api/v1/problems/{problem_id}", "/api/v1/submissions",
            "/api/v1/submissions/{submission_id}",
            "/api/v1/submissions/{submission_id}/events"} <= set(paths)


def test_a_reconnect_with_an_out_of_range_last_event_id_replays_the_stream(
        world: tuple[Server, dict[str, str]]) -> None:
    """Last-Event-ID is the client's to forge: a row id over SQLite's 64 bits crashed the
    stream (OverflowError after the 200) instead of replaying it from the start."""
    server, tokens = world
    with server.client(tokens["alice"]) as alice:
        sid = submit(alice, "syntax error (\n")
        wait_done(alice, sid)
        with alice.stream("GET", f"/api/v1/submissions/{sid}/events",
                          headers={"Last-Event-ID": f"1.{10**20}"},
                          timeout=httpx.Timeout(10, read=30)) as r:
            assert r.status_code == 200
            body = "".join(r.iter_text())
    assert "event: done" in body, body


VISIBLE = ["shown_first", "shown_after_a_secret", "unbiased"]


def test_a_run_grades_the_visible_tests_only_counts_for_nothing_and_has_its_own_limit(
        world: tuple[Server, dict[str, str]]) -> None:
    """A Run of the submission that prints and raises with whatever it receives: no hidden
    input ever reaches its jail, so not even the instructor's full report holds one (with the
    hidden calls still sent, `hidden_output` did); it names no hidden test, and it is not in
    the gradebook or the instructor's list. Runs have their own rate limit (2 here)."""
    server, tokens = world
    with server.client(tokens["alice"]) as alice, server.client(tokens["ines"]) as ines:
        book = ines.get("/api/v1/gradebook").json()
        r = alice.post("/api/v1/submissions",
                       json={"problem": "reinforce_grad", "source": HOSTILE, "run": True})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        stream = list(events(alice, sid))
        learner = alice.get(f"/api/v1/submissions/{sid}").json()
        full = ines.get(f"/api/v1/submissions/{sid}").json()
        assert (learner["run"], learner["counts"], learner["verdict"]) == (
            True, False, "runtime_error")
        report = learner["report"]
        assert report["run"] is True
        assert [t["name"] for t in report["tests"]] == VISIBLE
        assert all(t["visible"] for t in report["tests"])
        assert [d["test"]["name"] for n, d in stream if n == "test"] == VISIBLE
        assert [d["counts"] for n, d in stream if n == "done"] == [False]  # as the API says
        assert "ARGS 0.0 [0.0, 0.0]" in report["output"]  # the visible inputs are its own
        for seen in (learner, full, stream):
            text = json.dumps(seen)
            assert "secret_" not in text and leaks(text) == []
        assert full["report"]["hidden_output"] == ""
        assert ines.get("/api/v1/gradebook").json() == book
        listed = ines.get("/api/v1/problems/reinforce_grad/submissions").json()
        assert sid not in [s["id"] for s in listed]
        assert sid in [s["id"] for s in alice.get("/api/v1/submissions").json()]
        second = alice.post("/api/v1/submissions", data={"problem": "reinforce_grad",
                                                         "run": "true"},
                            files={"file": ("a.py", b"syntax error (\n", "text/x-python")})
        assert second.status_code == 201, second.text
        third = alice.post("/api/v1/submissions", json={
            "problem": "reinforce_grad", "source": "syntax error (\n", "run": True})
        assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1
        assert "Runs" in third.json()["error"]
        wait_done(alice, second.json()["id"])
    with server.client() as local:  # an operator tells Runs' verdicts from the class's
        metrics = local.get("/metrics").text
    assert 'jaxjudge_verdicts_total{verdict="compile_error",kind="run"}' in metrics, metrics


def test_jaxjudge_submit_run_prints_the_runs_report_with_submits_exit_codes(
        world: tuple[Server, dict[str, str]], tmp_path: Path) -> None:
    server, tokens = world
    path = tmp_path / "wrong.py"
    path.write_text(WRONG)
    done = subprocess.run(jaxjudge("submit", "reinforce_grad", str(path), "--server",
                                   server.url, "--format", "json", "--run"),
                          env={**env(server.root), "JAXJUDGE_TOKEN": tokens["bob"]},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["run"] is True and report["verdict"] == "wrong_answer"
    assert [t["name"] for t in report["tests"]] == VISIBLE
    assert leaks(done.stdout) == []
