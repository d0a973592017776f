"""The whole HTTP API fuzzed from its own OpenAPI schema by Schemathesis, against a real server.

Every operation the schema lists (but the event streams, which stream forever and are tested in
test_service.py) gets Schemathesis's examples, coverage (boundary values, wrong types, missing
fields, methods the schema does not list) and fuzzing phases, as a learner and as an instructor,
and every answer must pass every check: no 5xx, each status, content type, header and body as
the schema documents it, invalid input refused with a 4xx. Bounded: a few examples per
operation, a 5 s timeout per request, a time limit on the whole run, no grader running (a
fuzz exercises the API, not the sandbox) and a low submission rate limit, so that the
submissions the fuzz makes are few.

Schemathesis runs through its engine (what `st run` uses), not its pytest plugin, whose
lazy-schema loader does not run on pytest 9.2.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis.engine import Status, StopReason
from schemathesis.engine import events as ev
from schemathesis.openapi import from_url
from schemathesis.schemas import BaseSchema

from tests.integration.service import Server, create_user
from tests.specs import hidden_tests_problem

MAX_EXAMPLES = 12  # per operation, fuzzing phase (the coverage phase is deterministic)
REQUEST_TIMEOUT_S = 5  # an answer slower than this is a hang, and a failure
MAX_TIME_S = 45  # the whole run, per role (about 300 cases: 7 s when the machine is idle)
RATE_LIMIT = 5  # submissions per user per minute: the fuzz queues at most this many
STREAMS = r"/events$"  # Server-Sent Events: an endless body, tested in test_service.py
# Rotating or revoking a token by id: the fuzz would end its own token and then see only 401s.
# test_service_sessions.py attacks both.
OWN_TOKEN = r"^/api/v1/me/tokens/"


@pytest.fixture(scope="module")
def fuzz_server(
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    root = tmp_path_factory.mktemp("problems")
    hidden_tests_problem(root)
    data = tmp_path_factory.mktemp("data")
    tokens = {role: create_user(data, root, role, role) for role in ("learner", "instructor")}
    tokens["author"] = create_user(data, root, "author")  # a learner the fuzz never uses
    server = Server(data, root, jobs=0, rate_limit=RATE_LIMIT,  # web only: nothing is graded
                    run_limit=RATE_LIMIT)
    # The first read of a problem runs its reference for the examples (then cached): seconds
    # of JAX on a busy machine, once, and not the fuzz's business.
    with server.client() as http:
        assert http.get("/api/v1/problems/reinforce_grad", timeout=120).status_code == 200
    yield server, tokens
    server.stop()


def api_schema(server: Server, token: str) -> BaseSchema:
    """The server's own /openapi.json, every check on, bounded in examples and time."""
    schema = from_url(f"{server.url}/openapi.json", timeout=REQUEST_TIMEOUT_S)
    schema.config.update(headers={"Authorization": f"Bearer {token}"},
                         request_timeout=REQUEST_TIMEOUT_S, request_retries=0)
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True,
                                    database="none")
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    return schema.exclude(path_regex=STREAMS).exclude(path_regex=OWN_TOKEN)


def run(schema: BaseSchema) -> tuple[list[str], int, StopReason | None]:
    """Every failure (operation, check, status and message) the engine saw; cases run."""
    problems: list[str] = []
    cases = 0
    stop: StopReason | None = None
    deadline = time.monotonic() + MAX_TIME_S
    stream = schemathesis.engine.from_schema(schema).execute()
    for event in stream:
        if time.monotonic() > deadline:
            stream.stop()  # the engine ends after this scenario (EngineFinished: interrupted)
        if isinstance(event, ev.ScenarioFinished):
            cases += len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                response = event.recorder.find_response(case_id=case_id)
                status = response.status_code if response is not None else "no answer"
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        f = check.failure_info.failure
                        problems.append(f"{f.operation}: {check.name} ({status}): "
                                        f"{f.title}: {f.message.splitlines()[0]}")
        elif isinstance(event, ev.NonFatalError):
            problems.append(f"{event.label}: error: {event.info.format()[:300]}")
        elif isinstance(event, ev.FatalError):
            problems.append(f"fatal: {event.exception!r}")
        elif isinstance(event, ev.EngineFinished):
            stop = event.stop_reason
    return sorted(set(problems)), cases, stop


@pytest.mark.parametrize("role", ["learner", "instructor"])
def test_every_operation_conforms_to_its_schema(fuzz_server: tuple[Server, dict[str, str]],
                                                role: str) -> None:
    server, tokens = fuzz_server
    schema = api_schema(server, tokens[role])
    start = time.monotonic()
    problems, cases, stop = run(schema)
    print(f"{role}: {cases} cases in {time.monotonic() - start:.1f} s, stopped: {stop}")
    assert not problems, "\n".join(problems)
    assert stop == StopReason.COMPLETED  # not cut short by MAX_TIME_S: everything ran
    assert cases > 100  # every operation, not a schema that failed to load
    with server.client(tokens[role]) as http:  # the rate limit held: a handful were queued
        made = http.get("/api/v1/submissions").json()
    # Submissions and Runs, each kind at most at its own limit.
    assert len(made) <= 2 * RATE_LIMIT * (1 + int(time.monotonic() - start) // 60)


def test_a_405_lists_every_method_its_path_serves(
        fuzz_server: tuple[Server, dict[str, str]]) -> None:
    """Starlette's own 405 names only the first route matching the path (Allow: POST here)."""
    server, tokens = fuzz_server
    with server.client(tokens["learner"]) as http:
        for method in ("OPTIONS", "PUT", "DELETE"):
            r = http.request(method, "/api/v1/submissions")
            assert r.status_code == 405
            assert r.headers["allow"] == "GET, HEAD, POST"
            assert r.json() == {"error": "Method Not Allowed"}


def test_a_multipart_submission_may_carry_its_source_as_a_file_or_as_text(
        fuzz_server: tuple[Server, dict[str, str]]) -> None:
    """The schema documents `file` as text: a client generated from it sends a plain field."""
    server, tokens = fuzz_server
    with server.client(tokens["author"]) as http:
        for part in (("mine.py", b"x = 1\n"), (None, b"x = 1\n")):
            r = http.post("/api/v1/submissions", data={"problem": "reinforce_grad"},
                          files={"file": part})
            assert r.status_code == 201, r.text
        assert http.post("/api/v1/submissions", data={"problem": "reinforce_grad"},
                         files={"other": ("x.py", b"")}).status_code == 422
