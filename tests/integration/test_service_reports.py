"""A tiny file that returns a huge array must not make a huge report: what the service stores,
streams and answers about it stays small, and its verdict and score are still right."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.service import (
    Server,
    create_user,
    env,
    events,
    jaxjudge,
    served,
    submit,
    wait_done,
)
from tests.specs import HIDDEN_SPEC, reinforce_problem

# 300 bytes in, 8 MB out on every call: 2,000,000 float32 where 2 or 3 are expected.
HUGE = '''
import numpy as np


def reinforce_grad(seed, logits, reward_table, n_samples):
    return np.zeros(2_000_000, np.float32)
'''
# The right shape and wrong values, on a problem whose inputs are 200,000 values long.
SAME_SHAPE = '''
import numpy as np


def reinforce_grad(seed, logits, reward_table, n_samples):
    return np.ones_like(logits)
'''
WIDE = 200_000
WIDE_SPEC = HIDDEN_SPEC.split("tests:")[0] + f"""\
tests:
  - name: small
    visible: true
    args: {{seed: 0.0, logits: [0.0, 0.0], reward_table: [10.0, 0.0], n_samples: 1000.0}}
generated:
  - name: wide
    count: 1
    seed: 3
    visible: true
    sizes: {{K: [{WIDE}]}}
    args:
      seed: {{value: 1.0}}
      logits: {{dist: normal, mean: 0.0, std: 1.0}}
      reward_table: {{dist: uniform, low: -5.0, high: 5.0}}
      n_samples: {{value: 2.0}}
"""
ANSWER_CAP = 200_000  # bytes of one GET /api/v1/submissions/{id}, for any reader
GROWTH_CAP = 4 * 1024 * 1024  # bytes the data folder's database may grow by for one grade


def stored_bytes(data: Path) -> int:
    """The SQLite database and its WAL: where reports and events are written."""
    return sum(p.stat().st_size for p in data.glob("jaxjudge.db*"))


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    with served(tmp_path_factory, {"mallory": "learner", "ines": "instructor"}, jobs=1) as world:
        yield world


def test_a_huge_returned_array_makes_a_small_stored_report_with_the_right_verdict(
        world: tuple[Server, dict[str, str]]) -> None:
    server, tokens = world
    before = stored_bytes(server.data)
    with server.client(tokens["mallory"]) as learner, server.client(tokens["ines"]) as staff:
        sid = submit(learner, HUGE)
        streamed = list(events(learner, sid))
        done = wait_done(learner, sid)
        grown = stored_bytes(server.data) - before
        answers = {who: http.get(f"/api/v1/submissions/{sid}") for who, http in
                   [("learner", learner), ("staff", staff)]}
        print(f"\nanswer bytes: learner {len(answers['learner'].content)}, staff "
              f"{len(answers['staff'].content)}; database grew {grown} bytes; server peak RSS "
              f"{peak_rss_mb(server.pid):.0f} MB")
        assert (done["verdict"], done["score"], done["counts"]) == ("wrong_answer", 0.0, True)
        for who, r in answers.items():
            assert r.status_code == 200
            assert len(r.content) < ANSWER_CAP, (who, len(r.content))
        report = answers["staff"].json()["report"]
        assert [t["verdict"] for t in report["tests"]] == ["wrong_answer"] * 5
        assert "returned shape (2000000,), expected (2,)" in report["tests"][0]["message"]
        got = report["tests"][0]["shown"]["got"]
        assert (got["truncated"], got["size"], got["shape"], got["dtype"]) == \
            (True, 2_000_000, [2_000_000], "float32")
        assert len(got["head"]) <= 1000
        tests = [data["test"] for name, data in streamed if name == "test"]
        assert len(tests) == 5 and len(str(streamed)) < ANSWER_CAP
        assert grown < GROWTH_CAP, grown
        page = learner.get(f"/submissions/{sid}")
        assert page.status_code == 200 and len(page.content) < ANSWER_CAP
        assert "array of shape (2000000,) float32, 2000000 values (truncated" in page.text


@pytest.mark.parametrize("source", [HUGE, SAME_SHAPE], ids=["wrong_shape", "same_shape"])
def test_the_cli_json_report_is_bounded_too(source: str, tmp_path: Path) -> None:
    """`jaxjudge grade --format json --reveal` (the largest view) of a 2,000,000-value answer,
    and of a wrong answer of the right shape to 200,000-value inputs."""
    root = tmp_path / "root"
    reinforce_problem(root, WIDE_SPEC)
    path = tmp_path / "reinforce_grad.py"
    path.write_text(source)
    out = subprocess.run(jaxjudge("grade", "reinforce_grad", str(path), "--format", "json",
                                  "--reveal"),
                         env=env(root), capture_output=True, text=True, timeout=300).stdout
    print(f"\nCLI JSON bytes: {len(out.encode())}")
    assert len(out.encode()) < ANSWER_CAP
    report = json.loads(out)
    assert report["verdict"] == "wrong_answer" and report["score"] == 0.0
    wide = report["tests"][1]
    assert wide["name"] == "wide_0" and wide["verdict"] == "wrong_answer"
    shown = wide["shown"]
    values = [*shown["args"].values(), shown["expected"], shown["got"]]
    arrays = [v for v in values if isinstance(v, dict)]
    assert all(a["truncated"] and len(a["head"]) <= 1000 for a in arrays)
    sizes = sorted(a["size"] for a in arrays)
    assert sizes == ([WIDE] * 3 + [2_000_000] if source == HUGE else [WIDE] * 4)


def test_a_report_over_the_stored_cap_is_cut_down_keeping_every_verdict(tmp_path: Path) -> None:
    """With the cap set below what a 200,000-value wrong answer's bounded report takes (about
    70 KB), the service stores the cut-down report: grade, verdicts and points, no values."""
    root = tmp_path / "root"
    reinforce_problem(root, WIDE_SPEC)
    token = create_user(tmp_path, root, "mallory")
    staff = create_user(tmp_path, root, "ines", "instructor")
    server = Server(tmp_path, root, jobs=1, report_cap=8192)
    try:
        with server.client(token) as http, server.client(staff) as ines:
            sid = submit(http, SAME_SHAPE)
            done = wait_done(http, sid)
            mine = http.get(f"/api/v1/submissions/{sid}").json()["report"]
            answer = ines.get(f"/api/v1/submissions/{sid}")
            page = http.get(f"/submissions/{sid}")
    finally:
        server.stop()
    assert (done["verdict"], done["score"], done["counts"]) == ("wrong_answer", 0.0, True)
    # The learner's view is rebuilt from what verdicts decide: whether and by how much the
    # stored report was cut depends on hidden tests too, so it is the instructors' to see.
    assert "truncated" not in mine and "size" not in mine
    assert [(t["name"], t["verdict"]) for t in mine["tests"]] == \
        [("small", "wrong_answer"), ("wide_0", "wrong_answer")]
    report = answer.json()["report"]  # the stored one, as an instructor reads it
    assert report["truncated"] is True and report["size"] > 8192
    assert (report["verdict"], report["score"]) == ("wrong_answer", 0.0)
    assert [(t["name"], t["verdict"], t["points"]) for t in report["tests"]] == \
        [("small", "wrong_answer", 1.0), ("wide_0", "wrong_answer", 1.0)]
    assert all("shown" not in t for t in report["tests"])
    assert len(json.dumps(report)) <= 8192 and len(answer.content) < 8192 + 2048
    assert page.status_code == 200 and "wide_0" in page.text
