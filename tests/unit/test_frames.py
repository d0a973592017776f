"""The result channel's parser and its one legal order, fed forged bytes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from grader.sandbox.frames import Event, Frames, Order, ProtocolError
from grader.sandbox.protocol import Job, stream


def frame(header: dict[str, object], payload: bytes = b"") -> bytes:
    return json.dumps({**header, "nbytes": len(payload)}).encode() + b"\n" + payload


def parse(data: bytes) -> list[Event]:
    frames = Frames(1 << 20)
    frames.feed(data)
    events = []
    while (event := frames.next()) is not None:
        events.append(event)
    return events


def test_a_well_formed_result_parses() -> None:
    arr = np.arange(3, dtype=np.float32)
    [event] = parse(frame({"event": "result", "test": 0, "dtype": "<f4", "shape": [3]},
                          arr.tobytes()))
    assert event.array is not None and event.array.tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("data", [
    b"[" * 3000 + b"\n",  # json.loads would recurse past Python's limit
    b'{"event": "ready", "nbytes": 0, "x": [[[1]]]}\n',
    b"x" * 5000,  # a header that never ends
    b'{"event": "ready", "nbytes": -1}\n',
    b'{"event": "ready", "nbytes": 1.5}\n',
    b'{"event": "ready", "nbytes": true}\n',
    b'{"event": "ready"}\n',
    b'not json\n',
    b'{"event": "launch", "nbytes": 0}\n',
    b'{"event": "error", "test": 0, "verdict": "accepted", "nbytes": 0}\n',
    b'{"event": "result", "test": 0, "dtype": "O", "shape": [1], "nbytes": 8}\n' + b"\0" * 8,
    b'{"event": "result", "test": 0, "dtype": "<f4", "shape": [9], "nbytes": 4}\n\0\0\0\0',
    b'{"event": "result", "test": 0, "dtype": "[(\\"a\\", \\"<f4\\")]", "shape": [1], '
    b'"nbytes": 4}\n\0\0\0\0',
    b'{"event": "start", "test": "0", "nbytes": 0}\n',
    b'{"event": "ready", "nbytes": 2}\nhi',  # a payload where none belongs
])
def test_forged_bytes_raise_protocol_errors_only(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse(data)


def test_brackets_inside_strings_are_not_nesting() -> None:
    [event] = parse(frame({"event": "compile_error", "message": "[[[{{{" * 100}))
    assert event.kind == "compile_error"


def events(*specs: tuple[str, int | None]) -> list[Event]:
    return [Event(kind, test) for kind, test in specs]


LEGAL = [("ready", None), ("start", 0), ("result", 0), ("more", None), ("start", 1),
         ("error", 1), ("skipped", 2), ("done", None)]


def test_the_runners_own_order_is_legal() -> None:
    order = Order(3, 1, (None, 0, 0))
    for event in events(*LEGAL):
        order.check(event)


@pytest.mark.parametrize("bad", [
    [("start", 0)],  # before ready
    [("ready", None), ("ready", None)],
    [("ready", None), ("done", 0)],
    [("ready", None), ("done", None)],  # calls missing
    [("ready", None), ("result", 0)],  # a result for a call not started
    [("ready", None), ("start", 1)],  # out of turn
    [("ready", None), ("start", 0), ("start", 0)],
    [("ready", None), ("more", None)],  # before the public calls' results
    [("ready", None), ("start", 0), ("result", 0), ("start", 1)],  # a hidden call, unreleased
    [("ready", None), ("start", 0), ("result", 0), ("more", None), ("skipped", 1)],  # no failure
    [("ready", None), ("start", 0), ("result", 0), ("more", None), ("more", None)],
    [("ready", None), ("compile_error", None), ("start", 0)],  # after the end
])
def test_any_other_order_is_forged(bad: list[tuple[str, int | None]]) -> None:
    order = Order(3, 1, (None, 0, 0))
    with pytest.raises(ProtocolError):
        for event in events(*bad):
            order.check(event)


def test_stream_turns_forged_bytes_into_a_protocol_kill_and_releases_only_on_more() -> None:
    job = Job(__import__("pathlib").Path("x.py"), "f", [{}, {}], 5, 5, 256, 1024, public=1)
    released: list[bool] = []
    chunks: Iterator[bytes] = iter([frame({"event": "ready"}), frame({"event": "more"})])
    frames = Frames(1 << 20)

    def wait(_: float) -> None:
        frames.feed(next(chunks, b""))

    got = list(stream(job, frames, wait, lambda: 0, lambda: released.append(True)))
    assert [e.kind for e in got] == ["ready", "killed"]
    assert got[-1].header["reason"] == "protocol" and released == []


def _timed(job: Job, schedule: list[tuple[float, bytes]],
           monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    return _timed_until(job, schedule, monkeypatch)[0]


def _timed_until(job: Job, schedule: list[tuple[float, bytes]], monkeypatch: pytest.MonkeyPatch,
                 cpu_at: Callable[[float], float | None] | None = None
                 ) -> tuple[list[Event], float]:
    """The stream's events, and the (fake) time it ended, when the runner sends each chunk at
    its time in seconds; with `cpu_at`, its jail's CPU time at each (fake) time."""
    clock = [0.0]
    monkeypatch.setattr("grader.sandbox.protocol.time.monotonic", lambda: clock[0])
    frames, pending = Frames(1 << 20), list(schedule)

    def wait(t: float) -> None:
        if pending and pending[0][0] <= clock[0] + t:
            clock[0] = max(clock[0], pending[0][0])
            frames.feed(pending.pop(0)[1])
        else:
            clock[0] += t

    cpu = None if cpu_at is None else (lambda: cpu_at(clock[0]))
    events = list(stream(job, frames, wait, lambda: None, lambda: None, cpu=cpu))
    return events, clock[0]


def test_the_learners_clocks_start_when_the_runner_is_ready(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Python and import jax are the judge's work: a runner ready after 40 s on a busy host is
    no time limit of a problem with 15 s of start-up; the learner's file then has its 15 s."""
    job = Job(__import__("pathlib").Path("x.py"), "f", [{}], 5, 5, 256, 1024, startup_s=15)
    ready, start = frame({"event": "ready"}), frame({"event": "start", "test": 0})
    result = frame({"event": "result", "test": 0, "dtype": "<f4", "shape": []}, b"\0" * 4)
    done = frame({"event": "done"})
    got = _timed(job, [(40, ready), (52, start), (53, result), (53, done)], monkeypatch)
    assert [e.kind for e in got] == ["ready", "start", "result", "done"]
    late = _timed(job, [(40, ready), (56, start)], monkeypatch)  # its file took 16 s to load
    assert [e.kind for e in late] == ["ready", "killed"] and late[-1].header["reason"] == "timeout"
    never = _timed(job, [(61, ready)], monkeypatch)  # the runner's own bound: a judge fault
    assert [e.kind for e in never] == ["killed"]


@pytest.mark.parametrize(("rate", "returns", "ends"), [
    (0.25, 12, None), (1.0, 12, 5.0), (0.0, 12, None), (0.0, 40, 15.0), (None, 12, 5.0)])
def test_limits_charge_the_jails_cpu_time_with_a_wall_cap(
        rate: float | None, returns: float, ends: float | None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A call given a quarter of a core on a busy grader is no time limit of 5 s after 12 s:
    it used 3 s; one that spins is killed at 5 s; one that waits is killed at 3 x 5 s of wall
    clock; where the CPU time cannot be read (None) the wall clock decides alone, as before."""
    job = Job(__import__("pathlib").Path("x.py"), "f", [{}], 5, 60, 256, 1024, startup_s=15)
    result = frame({"event": "result", "test": 0, "dtype": "<f4", "shape": []}, b"\0" * 4)
    schedule = [(0, frame({"event": "ready"})), (0, frame({"event": "start", "test": 0})),
                (returns, result), (returns, frame({"event": "done"}))]
    got, at = _timed_until(job, schedule, monkeypatch,
                           None if rate is None else (lambda t: rate * t))
    if ends is None:
        assert [e.kind for e in got] == ["ready", "start", "result", "done"]
    else:
        assert [e.kind for e in got][-1] == "killed" and got[-1].header["reason"] == "timeout"
        assert ends <= at <= ends + 0.2  # the last look at most POLL_S of CPU late


def test_a_trickled_payload_parses_its_header_once_and_is_seen_trickling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[bytes] = []
    real = json.loads

    def loads(raw: bytes) -> object:
        parsed.append(raw)
        return real(raw)

    monkeypatch.setattr("grader.sandbox.frames.json.loads", loads)
    frames = Frames(1 << 20)
    frames.feed(json.dumps({"event": "result", "test": 0, "dtype": "<u1", "shape": [16],
                            "nbytes": 16}).encode() + b"\n")
    for i in range(16):
        assert frames.next() is None
        assert frames.trickling == (i >= 7)  # 8 small chunks (the header's, 7 bytes), no frame
        frames.feed(b"\0")
    event = frames.next()
    assert event is not None and event.array is not None and event.array.shape == (16,)
    assert len(parsed) == 1 and not frames.trickling


def test_a_clock_on_cpu_time_stays_on_it_when_a_reading_fails(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A container's group goes as it exits: a failed reading keeps the last one rather than
    putting a quarter-core call back on the wall clock's 5 s."""
    job = Job(__import__("pathlib").Path("x.py"), "f", [{}], 5, 60, 256, 1024, startup_s=15)
    result = frame({"event": "result", "test": 0, "dtype": "<f4", "shape": []}, b"\0" * 4)
    schedule = [(0.0, frame({"event": "ready"}) + frame({"event": "start", "test": 0})),
                (12.0, result + frame({"event": "done"}))]
    got, _ = _timed_until(job, schedule, monkeypatch,
                          cpu_at=lambda t: 0.25 * t if t < 3 else None)
    assert [e.kind for e in got] == ["ready", "start", "result", "done"]
