"""Hidden means hidden, for what learner code steers: a submission that encodes a hidden seed in
the size of its error (or its timing) must give the learner the same view whatever that seed
is; through the real sandbox, then through the real service (API, page, event stream). And the
daily cap per problem that bounds what verdicts alone can tell, against real uvicorn."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from grader.judging.judge import grade_submission
from grader.model.problems import Problem, load_problem
from grader.sandbox.local import LocalSandbox
from tests.integration.service import Server, events, served, submit
from tests.specs import HIDDEN_SPEC, ROOT

pytestmark = pytest.mark.usefixtures("clean_after")

# Reads int(seed) mod 270 back from the size of its error, shown to one figure: ~8 bits per
# hidden test per submission, before hidden tests showed only their verdicts.
LEAKER = '''
import numpy as np


def reinforce_grad(seed, logits, reward_table, n_samples):
    s = int(seed)
    return np.full(np.shape(logits), (s % 9 + 1) * 10**(5 + (s // 9) % 30), np.float32)
'''
# The same, and slow on the hidden tests (the twins' hidden seeds; not on the visible ones, 0 and
# 1, nor on the statistical check's calls, which would only spend the time limit): each hidden
# result, streamed as it came, would be timed by the learner's code.
SLOW_LEAKER = LEAKER.replace("    s = int(seed)\n", "    s = int(seed)\n"
                             "    if s in (91, 92, 93, 200):\n"
                             "        __import__('time').sleep(2)\n")
HIDDEN_KEYS = {"name", "verdict", "visible", "points", "statistical"}
TWINS = {"reinforce_grad": ("91.0", "92.0"), "reinforce_twin": ("93.0", "200.0")}


def twin(root: Path, problem_id: str) -> Problem:
    """The hidden-tests problem as `problem_id`, its hidden tests' seeds as TWINS says: the
    twins differ in nothing a learner may see."""
    one, two = TWINS[problem_id]
    spec = HIDDEN_SPEC.replace("id: reinforce_grad", f"id: {problem_id}")
    spec = spec.replace("seed: 91.0,", f"seed: {one},").replace("seed: 92.0,", f"seed: {two},")
    folder = root / "problems" / problem_id
    folder.mkdir(parents=True)
    (folder / "problem.yaml").write_text(spec)
    (folder / "statement.md").write_text("attacks\n")
    (root / "reference").mkdir(exist_ok=True)
    shutil.copy(ROOT / "reference" / "reinforce_grad.py", root / "reference" / f"{problem_id}.py")
    return load_problem(problem_id, root)


def learner_view(problem: Problem, path: Path, cache: Path) -> tuple[dict[str, Any], str]:
    report = grade_submission(problem, path, LocalSandbox(compile_cache=cache))
    view = report.to_dict()
    buffer = io.StringIO()
    report.render(Console(file=buffer, width=200, color_system=None))
    for key in ("problem", "duration_s"):
        view.pop(key)
    text = buffer.getvalue().split("\n", 1)[1]  # the first line names problem and time
    return view, text


def test_the_learners_view_is_the_same_whatever_the_hidden_seeds(tmp_path: Path,
                                                                 compile_cache: Path) -> None:
    path = tmp_path / "leaker.py"
    path.write_text(LEAKER)
    views = [learner_view(twin(tmp_path / name, name), path, compile_cache) for name in TWINS]
    full = grade_submission(twin(tmp_path / "again", "reinforce_twin"), path,
                            LocalSandbox(compile_cache=compile_cache)).to_dict(reveal=True)
    # An instructor reads it all: seed 93 -> an error of 4e15, seed 200 -> 3e27.
    sizes = sorted(f"{t['max_abs_diff']:.0e}" for t in full["tests"] if not t["visible"])
    assert sizes == ["3e+27", "4e+15"], sizes
    (first, text), (second, other) = views
    assert first["verdict"] == "wrong_answer"
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert text == other
    hidden = [t for t in first["tests"] if not t["visible"]]
    assert len(hidden) == 2 and all(set(t) == HIDDEN_KEYS for t in hidden), hidden


def twins(root: Path) -> None:
    for name in TWINS:
        twin(root, name)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    # No jail kept ready: this module's clean_after would count the live grader's waiting one
    # (ready jails' own attacks: test_ready_jails.py, test_hidden.py).
    with served(tmp_path_factory, {"alice": "learner", "ines": "instructor"}, twins, jobs=1,
                ready_jails=0) as world:
        yield world


def follow(http: httpx.Client, staff: httpx.Client, sid: int) -> list[tuple[str, Any]]:
    """The learner's event stream; on each hidden test's event, whether the grade had already
    ended (as staff read it at that moment)."""
    out: list[tuple[str, Any]] = []
    for name, data in events(http, sid):
        if name == "test" and not data["test"]["visible"]:
            status = staff.get(f"/api/v1/submissions/{sid}").json()["status"]
            out.append(("hidden test, grade then", status))
        out.append((name, data))
    return out


def page(http: httpx.Client, sid: int, problem: str) -> str:
    text = http.get(f"/submissions/{sid}").text
    text = re.sub(r'name="csrf_token" value="[^"]*"', "", text)
    text = re.sub(r'<meta name="csrf-token" content="[^"]*"', "", text)
    head, cut, source = text.partition('id="source"')  # the same source: its def stays
    head = head.replace(f"Submission {sid}", "Submission N").replace(problem, "PROBLEM")
    return head + cut + source


def test_the_service_shows_the_same_hidden_part_whatever_the_seeds_and_only_at_the_end(
        graded: tuple[Server, dict[str, str]]) -> None:
    server, tokens = graded
    seen: dict[str, Any] = {}
    with server.client(tokens["alice"]) as alice, server.client(tokens["ines"]) as ines:
        for problem in TWINS:
            sid = submit(alice, SLOW_LEAKER, problem)
            stream = follow(alice, ines, sid)
            detail = alice.get(f"/api/v1/submissions/{sid}").json()
            listed = [s for s in alice.get("/api/v1/submissions").json() if s["id"] == sid]
            full = ines.get(f"/api/v1/submissions/{sid}").json()
            seen[problem] = (stream, detail, listed, page(alice, sid, problem), full)
    for problem, (stream, detail, _, _, full) in seen.items():
        assert detail["verdict"] == "wrong_answer", problem
        # No hidden test's event before the grade ended: all come with `done`.
        statuses = [data for name, data in stream if name == "hidden test, grade then"]
        assert statuses == ["done", "done"], stream
        names = [name for name, _ in stream if name != "hidden test, grade then"]
        assert names[-3:] == ["test", "test", "done"]
        # Staff read everything, the leak included.
        assert any(t.get("max_abs_diff") for t in full["report"]["tests"] if not t["visible"])
    (one, two) = seen.values()

    def same(x: Any) -> str:
        text = json.dumps(x, sort_keys=True)
        for key in ("id", "created", "finished", "problem", "duration_s", "submission",
                    "filename"):
            text = re.sub(rf'"{key}": ("[^"]*"|[0-9.e+-]+)', f'"{key}": _', text)
        return text

    assert same(one[0]) == same(two[0])  # the event stream
    assert same(one[1]) == same(two[1])  # GET /api/v1/submissions/{id}
    assert same(one[2]) == same(two[2])  # the list
    assert one[3] == two[3]  # the HTML page
    stream, detail = one[0], one[1]
    hidden = [t for t in detail["report"]["tests"] if not t["visible"]]
    hidden += [d["test"] for n, d in stream if n == "test" and not d["test"]["visible"]]
    assert len(hidden) == 4 and all(set(t) == HIDDEN_KEYS for t in hidden), hidden


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    with served(tmp_path_factory,
                {"alice": "learner", "bob": "learner", "ines": "instructor"}, twins, jobs=0,
                daily_submissions_per_problem=2, rate_limit=100) as world:
        yield world


def to_midnight() -> float:
    now = dt.datetime.now(dt.UTC)
    return (now.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
            - now).total_seconds()


def test_the_daily_cap_per_problem_answers_429_until_utc_midnight(
        capped: tuple[Server, dict[str, str]]) -> None:
    server, tokens = capped
    with server.client(tokens["alice"]) as alice, server.client(tokens["ines"]) as ines:
        first = alice.post("/api/v1/submissions", json={"problem": "reinforce_grad",
                                                        "source": "x = 1\n"},
                           headers={"Idempotency-Key": "k1"})
        assert first.status_code == 201
        submit(alice, "x = 2\n")
        refused = alice.post("/api/v1/submissions",
                             json={"problem": "reinforce_grad", "source": "x = 3\n"})
        assert refused.status_code == 429, refused.text
        assert "2 submissions of reinforce_grad per day" in refused.json()["error"]
        wait = int(refused.headers["Retry-After"])
        assert abs(wait - to_midnight()) < 120 and 1 <= wait <= 86400
        # A replay of one already made is no new submission; another problem has its own cap.
        again = alice.post("/api/v1/submissions", json={"problem": "reinforce_grad",
                                                        "source": "x = 1\n"},
                           headers={"Idempotency-Key": "k1"})
        assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
        submit(alice, "x = 4\n", "reinforce_twin")
        for n in range(3):  # staff are exempt
            submit(ines, f"y = {n}\n")
    # The editor's form is held to the same cap, with a page that says why.
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        r = browser.post("/login", data={"name": "alice", "password": "alice-pw",
                                         "csrf_token": csrf})
        assert r.status_code == 303
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        r = browser.post("/problems/reinforce_grad/submit",
                         data={"source": "x = 5\n", "csrf_token": csrf},
                         headers={"Accept": "text/html"})
        assert r.status_code == 429 and "Retry-After" in r.headers
        assert "per day" in r.text


def test_concurrent_submits_do_not_slip_past_the_daily_cap(
        capped: tuple[Server, dict[str, str]]) -> None:
    server, tokens = capped

    def one(n: int) -> int:
        with server.client(tokens["bob"]) as bob:
            return bob.post("/api/v1/submissions", json={"problem": "reinforce_twin",
                                                         "source": f"x = {n}\n"}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(one, range(8)))
    assert codes == [201, 201] + [429] * 6, codes
    with server.client(tokens["bob"]) as bob:
        mine = bob.get("/api/v1/submissions", params={"problem": "reinforce_twin"}).json()
    assert len(mine) == 2
