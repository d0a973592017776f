"""A tiny file that returns a huge array must not make a huge report: what the service stores,
streams and answers about it stays small, and its verdict and score are still right."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.service import Server, create_user, events, submit, wait_done
from tests.specs import hidden_tests_problem

# 300 bytes in, 8 MB out on every call: 2,000,000 float32 where 2 or 3 are expected.
HUGE = '''
import numpy as np


def reinforce_grad(seed, logits, reward_table, n_samples):
    return np.zeros(2_000_000, np.float32)
'''
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
    root = tmp_path_factory.mktemp("problems")
    hidden_tests_problem(root)
    data = tmp_path_factory.mktemp("data")
    tokens = {name: create_user(data, root, name, role) for name, role in
              [("mallory", "learner"), ("ines", "instructor")]}
    server = Server(data, root, jobs=1)
    yield server, tokens
    server.stop()


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
