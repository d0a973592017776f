"""Running a submission over a job's calls and recording what each call produced."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from grader.model.problems import Problem
from grader.model.spec import Limits
from grader.model.values import Output, structure
from grader.sandbox.cache_view import HIDDEN, VISIBLE, CacheView
from grader.sandbox.capture import Capture
from grader.sandbox.frames import Event
from grader.sandbox.protocol import Job, Sandbox, encode_args
from grader.sandbox.ready import LimitsKey
from grader.sandbox.runner import CALL_KEY, TRANSFORM_KEY
from grader.verdict import Verdict

# (verdict, message for anyone, summary that holds no learner-chosen text: for hidden tests)
KILLS = {
    "timeout": (Verdict.TIME_LIMIT_EXCEEDED, "over the time limit: killed"),
    "protocol": (Verdict.RUNTIME_ERROR, "your code wrote into the judge's result channel"),
    # Sent before the learner's file is read: the judge's fault, never the submission's.
    "stale_runner": (Verdict.JUDGE_ERROR, "the sandbox's runner predates tuple and tree "
                     "returns, given functions or several entry points: rebuild the runner "
                     "image (make image)"),
    "stale_transforms": (Verdict.JUDGE_ERROR, "the sandbox's runner predates function checks "
                         "(jit, vmap, jvp, vjp): rebuild the runner image (make image)"),
}
NOT_LOADED = "your function cannot take this test's arguments"
MISMATCH = "returned a value whose structure is not the declared one"
OUT_OF_MEMORY = "not run: an earlier call ran out of memory"


def environment(backend: str) -> dict[str, str]:
    return {"jax": metadata.version("jax"), "jaxlib": metadata.version("jaxlib"),
            "backend": backend}


@dataclass(eq=False)  # it holds arrays: compare by identity, never elementwise
class Outcome:
    """What one call of the learner's function produced: an array, or a verdict and message.

    `summary` says the same without any text or number the learner's code chose, for a hidden
    test (a learner could raise an exception whose message is a hidden input)."""

    array: Output | None = None  # a tuple or tree return: a dict of arrays by leaf path
    verdict: Verdict = Verdict.ACCEPTED
    message: str = ""
    summary: str = ""
    skipped: bool = False  # not called: its check had already failed
    exception_class: str = ""  # a function check's call: the class it raised (learner-named)


@dataclass
class Stop:
    """Why the run ended before `done`: a verdict, a message, and its safe summary."""

    verdict: Verdict
    message: str
    summary: str


@dataclass
class Run:
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    ready: bool = False
    stop: Stop | None = None
    current: int | None = None  # the call under way when the run ended
    capture: Capture = field(default_factory=Capture)


def _exception(header: dict[str, Any]) -> str:
    name = header.get("exception")
    cls = getattr(builtins, name, None) if isinstance(name, str) else None
    return f"raised {name}" if isinstance(cls, type) and issubclass(cls, BaseException) \
        else "raised an exception"


def _killed(event: Event, job: Job, capture: Capture) -> Stop:
    reason = event.header.get("reason")
    memory = f"over the memory limit of {job.memory_mb} MB: killed"
    if event.header.get("oom"):  # the submission's memory cgroup killed one of its processes
        return Stop(Verdict.MEMORY_LIMIT_EXCEEDED, memory, memory)
    if reason in KILLS:
        verdict, message = KILLS[str(reason)]
        return Stop(verdict, message, message)
    if capture.contains(b"bad_alloc", b"RESOURCE_EXHAUSTED", b"MemoryError"):
        return Stop(Verdict.MEMORY_LIMIT_EXCEEDED, memory, memory)
    code = event.header.get("code")
    if code is not None and code < 0:
        return Stop(Verdict.RUNTIME_ERROR, f"your process was killed by signal {-code}",
                    "your process was killed by a signal")
    return Stop(Verdict.RUNTIME_ERROR, f"your code ended the process (exit status {code}) "
                "mid-test", "your code ended the process mid-test")


def _outcome(event: Event, job: Job) -> Outcome:
    if event.kind == "mismatch":
        return Outcome(None, Verdict.WRONG_ANSWER, str(event.header["message"]), MISMATCH)
    if event.arrays is not None:
        return Outcome(dict(zip(job.leaves_of(event.test), event.arrays, strict=True)))
    if event.kind == "error":
        verdict = Verdict(str(event.header["verdict"]))
        summary = "ran out of memory" if verdict == Verdict.MEMORY_LIMIT_EXCEEDED \
            else _exception(event.header)
        return Outcome(None, verdict, str(event.header.get("message", "")), summary,
                       exception_class=str(event.header.get("class", ""))[:100])
    if event.kind == "output_limit":
        return Outcome(None, Verdict.OUTPUT_LIMIT_EXCEEDED,
                       f"returned {event.header.get('got_bytes')} bytes, over the output cap",
                       "returned more data than the output cap")
    if event.kind == "skipped":
        return Outcome(None, Verdict.ACCEPTED, "not run: its check had already failed",
                       "not run: its check had already failed", skipped=True)
    return Outcome(event.array)


# A jail whose runner dies before it is ready has not read the learner's file yet: that is the
# judge's (or the engine's) fault, never the submission's, so it is tried once more. Seen once
# in a CI run: a Docker container whose attach stream ended at once, with no output at all.
START_TRIES = 2


def run_calls(sandbox: Sandbox, job: Job,
              arrived: Callable[[int, Run], None] | None = None) -> Run:
    """Runs one submission over all calls of a job and records what each call produced;
    `arrived(i, run)` hears of call i's outcome as it comes.

    The sandbox delivers frames in their legal order only (grader.sandbox.frames.Order)."""
    for _ in range(START_TRIES):
        run = _run_once(sandbox, job, arrived)
        if run.ready:
            break
    return run


def _run_once(sandbox: Sandbox, job: Job, arrived: Callable[[int, Run], None] | None) -> Run:
    run = Run()
    events = sandbox.run(job, run.capture)
    for event in events:
        if event.kind == "ready":
            run.ready = True
        elif event.kind == "start":
            run.current = event.test
        elif event.kind == "compile_error":
            message = str(event.header.get("message", ""))
            # Before the hidden inputs, the learner's code knew nothing secret to put in it.
            run.stop = Stop(Verdict.COMPILE_ERROR, message,
                            NOT_LOADED if run.capture.released else message)
        elif event.kind == "killed":
            run.stop = _killed(event, job, run.capture)
        elif event.test is not None:
            outcome = run.outcomes[event.test] = _outcome(event, job)
            run.current = None
            if arrived is not None:
                arrived(event.test, run)
            if outcome.verdict == Verdict.MEMORY_LIMIT_EXCEEDED:
                # As when the cgroup kills it: the next calls would only fill memory again, each
                # for seconds, and a grader must not be held for all of them.
                run.stop = Stop(Verdict.MEMORY_LIMIT_EXCEEDED, OUT_OF_MEMORY, OUT_OF_MEMORY)
                close = getattr(events, "close", None)  # a generator: its cleanup kills the jail
                if close is not None:
                    close()
                break
    if not run.ready:
        # The runner dies before the learner's file is even read: the judge's fault.
        tail = run.capture.public.strip().splitlines()[-3:]
        message = "the sandbox failed to start: " + " | ".join(tail)
        run.stop = Stop(Verdict.JUDGE_ERROR, message, message)
    return run


def make_job(problem: Problem, submission: Path, calls: list[dict[str, Any]],
             public: int | None = None, groups: tuple[int | None, ...] = (),
             call_leaves: tuple[tuple[str, ...] | None, ...] = ()) -> Job:
    """The job of `calls` of `problem`; its first `public` go to the jail at once, the rest
    (hidden inputs) only after their results, and likewise the programs of the hidden calls
    into its view of the compile cache (cache_view). With `public` None every call goes at
    once, so the jail may load every program at once too: such a job (diagnosis examples' runs
    on every test) is never a learner's."""
    limits = problem.spec.limits
    fn = problem.spec.function
    cache = CacheView(problem.id, (VISIBLE, HIDDEN), ()) if public is None \
        else CacheView(problem.id)
    warm = warm_up_line(problem, calls[:public], groups) if public is not None else b""
    return Job(submission, fn.name, calls, limits.time_per_test_s,
               limits.total_time_s, limits.memory_mb, int(limits.output_mb * 1024 * 1024),
               limits.startup_s, public=public, groups=groups, tmp_mb=limits.tmp_mb,
               returns=structure(fn), leaf_paths=tuple(p for p, _ in fn.leaves())
               if fn.structured else (), call_leaves=call_leaves, given=problem.given_path,
               given_names=problem.given_choices,
               entries=tuple(f.name for f in problem.spec.functions or ()), cache=cache,
               warm_up=warm, **entry_structures(problem))


WARM_UP_CALLS = 8  # at most, of a problem's distinct visible calls (the runner takes no more)


def warm_up_line(problem: Problem, visible: list[dict[str, Any]],
                 groups: tuple[int | None, ...]) -> bytes:
    """The runner's warm_up line for a jail started ahead after a job of `problem`: the spec's
    sampling rule and the `visible` calls' plain arguments (a statistical check's calls differ
    in the seed only: its first stands for all). Only a job's public calls are ever passed
    here, so a jail warmed by it holds nothing of a hidden input. b"" when the spec quotes no
    sampling rule."""
    code = problem.spec.sampling
    if not code:
        return b""
    chosen: list[dict[str, Any]] = []
    seen: set[int] = set()
    for call, group in zip(visible, [*groups, *[None] * len(visible)], strict=False):
        if group in seen or any(k in (TRANSFORM_KEY, CALL_KEY) for k in call) \
                or any(isinstance(v, dict) or getattr(v, "given_name", False)
                       for v in call.values()):
            continue  # a check's other seeds; transforms, entries, trees, given functions
        if group is not None:
            seen.add(group)
        chosen.append(encode_args(call))
        if len(chosen) == WARM_UP_CALLS:
            break
    if not chosen:
        return b""
    return json.dumps({"warm_up": {"code": code, "calls": chosen}}).encode() + b"\n"


def entry_structures(problem: Problem) -> dict[str, Any]:
    """With `functions` of which some return a tuple or tree: each entry's structure and leaf
    paths (the runner flattens each call's result by its entry's); else nothing."""
    several = problem.spec.functions or []
    if not any(f.structured for f in several):
        return {}
    return {"entry_returns": {f.name: structure(f) for f in several},
            "entry_leaves": {f.name: tuple(p for p, _ in f.leaves()) if f.structured else ()
                             for f in several}}


def tagged(args: dict[str, Any], call: str | None) -> dict[str, Any]:
    """A call's arguments as the job sends them: with the entry it runs, when it names one."""
    return args if call is None else {**args, CALL_KEY: call}


def ready_key(limits: Limits | None = None) -> LimitsKey:
    """The limits a jail started ahead is started with for a problem of `limits` (default: a
    spec that sets none, as most do): what make_job's jobs of that problem will ask for."""
    limits = limits or Limits()
    return LimitsKey(limits.memory_mb, Job.max_processes, limits.tmp_mb)
