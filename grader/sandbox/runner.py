"""Runs inside the sandbox: imports the learner's file, calls it per test, streams raw arrays back.

Standalone on purpose (stdlib, numpy, jax): the sandbox holds this file and nothing else of the
judge. Frames on the result fd are a JSON header line then `nbytes` raw bytes; never pickle.
Stdin carries a header line, then one line of arguments per call. The judge sends the first
`public` calls at once and the rest (the hidden tests' inputs) only when asked with a `more`
frame, after the public calls' results: the learner's code cannot see a hidden input before
everything it printed or returned without one is in the judge's hands.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import inspect
import json
import os
import sys
import traceback
import types
from typing import Any, BinaryIO

# Written to stdout and stderr just before `more`: once the judge has read both, it has every
# byte printed before the hidden inputs. Forging it early only hides the learner's own output.
SENTINEL = b"\x1ejaxjudge: hidden inputs follow\x1e\n"
# A structured result's header must fit the judge's 4096-byte header line; the spec keeps a
# declared return's well below this, so only shapes far from the declared ones exceed it.
HEADER_ROOM = 3800
MAX_NDIM = 32


def send(out: BinaryIO, header: dict[str, Any], payload: bytes = b"") -> None:
    header["nbytes"] = len(payload)
    out.write(json.dumps(header).encode() + b"\n" + payload)
    out.flush()


def decode(value: Any, given: dict[str, Any] | None = None) -> Any:
    """One argument from the judge: an array, a tree (nested dicts of arrays), a key (built here
    from its seed: jax.random.key), a given function (declared names only), or a JSON scalar."""
    import numpy as np

    if isinstance(value, dict):
        if "tree" in value:
            return {k: decode(v) for k, v in value["tree"].items()}
        if "key" in value:
            import jax

            return jax.random.key(int(value["key"]))
        if "given" in value:  # KeyError for any name the job did not declare
            return (given or {})[str(value["given"])]
        raw = base64.b64decode(value["b64"])
        return np.frombuffer(raw, dtype=value["dtype"]).reshape(value["shape"]).copy()
    return value


class Mismatch(Exception):
    """A result whose structure is not the declared one (a tuple, a tree): a wrong answer."""


def _what(value: Any) -> str:
    """A result's structure in words, without anything its code named (no class names)."""
    from collections.abc import Mapping

    if isinstance(value, tuple | list):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return f"a {kind} of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, Mapping):
        return f"a dict of {len(value)} key{'s' * (len(value) != 1)}"
    if value is None:
        return "None"
    if hasattr(value, "shape") or isinstance(value, int | float | complex):
        return "one array"
    return "a value of another type"


def _short(key: Any) -> str:
    text = key if isinstance(key, str) else repr(key)
    return repr(text[:40])


def flatten(value: Any, shape: dict[str, Any], path: str = "") -> list[Any]:
    """The declared structure's leaves of `value`, each a numeric ndarray, in declared order.

    `shape` is {"kind": "array"}, {"kind": "tuple", "items": [[name, shape], ...]} or
    {"kind": "tree", "keys": [[key, shape], ...]}. A tuple may come as a list, a tree as any
    mapping with exactly its keys; nothing is ever stacked: a sequence or mapping where an
    array belongs is a Mismatch, as is an array where a tuple or tree belongs."""
    from collections.abc import Mapping

    import numpy as np

    at = f"{path}: " if path else ""
    kind = shape["kind"]
    if kind == "array":
        if isinstance(value, tuple | list | Mapping) or value is None:
            raise Mismatch(f"{at}expected an array; got {_what(value)}")
        try:
            arr = to_array(value)
        except TypeError as exc:
            raise TypeError(f"{at}{exc}") from None
        # ascontiguousarray makes a 0-d array 1-d: a scalar leaf stays a scalar.
        return [arr.reshape(np.shape(value)) if arr.size == 1 and np.ndim(value) == 0 else arr]
    if kind == "tuple":
        names = [name for name, _ in shape["items"]]
        listed = ", ".join(names)
        if not isinstance(value, tuple | list):
            raise Mismatch(f"{at}expected a tuple ({listed}); got {_what(value)}")
        if len(value) != len(names):
            raise Mismatch(f"{at}expected a tuple ({listed}) of {len(names)} items; got "
                           f"{_what(value)}")
        out: list[Any] = []
        for (name, sub), item in zip(shape["items"], value, strict=True):
            out += flatten(item, sub, f"{path}.{name}" if path else name)
        return out
    keys = [key for key, _ in shape["keys"]]
    if not isinstance(value, Mapping):
        raise Mismatch(f"{at}expected a dict with keys {sorted(keys)}; got {_what(value)}")
    missing = [k for k in sorted(keys) if k not in value]
    extra = [_short(k) for k in list(value)[:100] if k not in keys]
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + \
            ([f"unexpected [{', '.join(extra[:5])}{', ...' if len(extra) > 5 else ''}]"]
             if extra else [])
        raise Mismatch(f"{at}expected a dict with keys {sorted(keys)}; {'; '.join(parts)}")
    out = []
    for key, sub in shape["keys"]:
        out += flatten(value[key], sub, f"{path}.{key}" if path else key)
    return out


TRANSFORM_KEY = "@transform"  # a call's transform (grader.model.transforms), beside its args
CALL_KEY = "@call"  # with several entries (`functions`): the one a call runs, beside its args


def transformed(fn: Any, args: dict[str, Any], spec: dict[str, Any]) -> Any:
    """The learner's function called under the transform the judge names: jit (static_argnames),
    vmap (in_axes over the named arguments, the rest closed over), jvp (the judge's tangents)
    or vjp (the judge's cotangent pulled back to each `wrt` argument). The judge sends the
    structure its result is flattened by (`returns`: a vjp's, one gradient per `wrt`)."""
    import jax

    kind, names = spec["transform"], list(spec.get("in_axes") or spec.get("wrt") or ())
    if kind == "jit":
        return jax.jit(fn, static_argnames=tuple(spec["static"]))(**args)
    values = tuple(args[n] for n in names)

    def part(*values: Any) -> Any:
        return fn(**{**args, **dict(zip(names, values, strict=True))})

    if kind == "vmap":
        return jax.vmap(part, in_axes=tuple(spec["in_axes"][n] for n in names))(*values)
    if kind == "jvp":
        return jax.jvp(part, values, tuple(spec["tangents"][n] for n in names))[1]
    out, pullback = jax.vjp(part, *values)
    ct = spec["cotangent"]
    if not hasattr(out, "shape") or tuple(out.shape) != ct.shape or out.dtype != ct.dtype:
        got = f"{out.dtype}{list(out.shape)}" if hasattr(out, "shape") else _what(out)
        raise Mismatch(f"under jax.vjp your function returns {got}; the cotangent is for "
                       f"the declared {ct.dtype}{list(ct.shape)}")
    grads = pullback(ct)
    return grads[0] if len(grads) == 1 else tuple(grads)


def learner_trace(exc: BaseException, path: str) -> str:
    """The traceback cut to the learner's own frames (and the final error line)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    lines = traceback.format_list(frames) if frames else []
    return "".join(lines) + "".join(traceback.format_exception_only(type(exc), exc))


def classify(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MemoryError) or "RESOURCE_EXHAUSTED" in text or "bad_alloc" in text:
        return "memory_limit_exceeded"
    return "runtime_error"


def exception_name(exc: BaseException) -> str | None:
    """A built-in exception's name, which says nothing of the inputs; any other class stays
    anonymous (a learner could name a class after a hidden value)."""
    name = type(exc).__name__
    return name if getattr(builtins, name, None) is type(exc) else None


def flush_learner() -> None:
    """What the learner printed into Python's buffers reaches the judge: os._exit would drop it."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # the learner's stream: whatever it is
            stream.flush()


def to_array(result: Any) -> Any:
    """Learner data to a plain numeric ndarray, converted here so the judge never runs its code."""
    import numpy as np

    arr = np.asarray(result)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"returned {type(result).__name__} with dtype {arr.dtype}, not numbers")
    return np.ascontiguousarray(arr)


def warm_up(spec: dict[str, Any]) -> None:
    """Before its job, a jail started ahead runs its last job's problem's sampling rule (trusted
    and public: the statement quotes it) on that job's visible inputs, so the programs a learner's
    file likely starts with are loaded before anyone waits. Silent; never an error."""
    import jax
    import numpy as np

    flush_learner()
    saved, null = [os.dup(1), os.dup(2)], os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            os.dup2(null, fd)
        for args in spec["calls"][:8]:
            with contextlib.suppress(Exception):
                space = {"jax": jax, "jnp": jax.numpy, "np": np,
                         **{k: decode(v) for k, v in args.items()}}
                exec(spec["code"], space)
                jax.block_until_ready([v for v in space.values() if isinstance(v, jax.Array)])
    finally:
        flush_learner()
        for fd, old in ((1, saved[0]), (2, saved[1])):
            os.dup2(old, fd)
        for fd in (*saved, null):
            os.close(fd)


def main() -> None:
    stdin = sys.stdin.buffer
    # jax first, then the header: a jail started ahead of its job (a ready jail) has done the
    # costly part when its job comes; a jail started for its job reads the same header later.
    # Whatever the import prints goes to stderr: stdout may be the result channel (below).
    saved = os.dup(1)
    os.dup2(2, 1)
    import jax  # before the learner's code, so its import time is not charged to them

    jax.config.update("jax_platforms", "cpu")
    sys.stdout.flush()
    os.dup2(saved, 1)
    os.close(saved)
    job = json.loads(stdin.readline())
    while "warm_up" in job:  # a jail started ahead, before its job comes (see warm_up)
        warm_up(job["warm_up"])
        job = json.loads(stdin.readline())
    if job["result_fd"] == "stdout":
        # A container has one output stream for frames: move it aside and send everything the
        # learner prints to stderr instead.
        fd = os.dup(1)
        os.dup2(2, 1)
    else:
        fd = int(job["result_fd"])
    out = os.fdopen(fd, "wb", buffering=0)
    path, fn_name, cap = job["path"], job["function"], int(job["output_bytes"])
    calls, public, groups = int(job["calls"]), int(job["public"]), job["groups"]
    returns = job.get("returns")  # the declared structure of a tuple or tree return, else None
    returns_of = job.get("entry_returns") or {}  # with `functions`: per entry, its own (or None)
    given = None
    if job.get("given"):  # before the learner's code: the staged file is as the judge wrote it
        g = sys.modules["given"] = types.ModuleType("given")
        g.__file__ = job["given"]["path"]
        with open(g.__file__, encoding="utf-8") as f:
            exec(compile(f.read(), g.__file__, "exec"), g.__dict__)  # no bytecode written
        given = {n: g.__dict__[n] for n in job["given"]["names"]}  # declared top-level names only
    sys.path.insert(0, os.path.dirname(path))
    sys.argv = [path]
    # `structures`, `given`, `transforms`: this runner flattens tuple and tree returns (an older
    # image would stack them), resolves callables and applies a call's function-check transform;
    # `entries` 2: each entry's results by its own structure. The judge refuses such jobs to an
    # older runner.
    send(out, {"event": "ready", "structures": 1, "given": 1, "transforms": 1, "entries": 2})
    try:
        with open(path, encoding="utf-8") as f:
            code = compile(f.read(), path, "exec")
        namespace: dict[str, Any] = {"__name__": "submission", "__file__": path}
        exec(code, namespace)
    except SyntaxError as exc:
        flush_learner()
        return send(out, {"event": "compile_error", "message": learner_trace(exc, path)})
    except BaseException as exc:  # an import-time crash, SystemExit included, is a load failure
        flush_learner()
        return send(out, {"event": "compile_error",
                          "message": "your file fails to load:\n" + learner_trace(exc, path)})
    fns: dict[str, Any] = {name: namespace.get(name) for name in job.get("entries") or [fn_name]}
    for name, fn in fns.items():  # every entry, before any call: a hidden one's too
        if not callable(fn):
            return send(out, {"event": "compile_error",
                              "message": f"your file defines no function named {name!r}"})
    failed: set[int] = set()  # checks that already failed: their other calls would decide nothing
    for index in range(calls):
        if index == public:
            flush_learner()
            for std in (1, 2):
                with contextlib.suppress(OSError):
                    os.write(std, SENTINEL)
            send(out, {"event": "more"})
        line = json.loads(stdin.readline())
        spec = decode(line.pop(TRANSFORM_KEY, None))
        fn_name = line.pop(CALL_KEY, None) or job["function"]
        fn = fns[fn_name]
        args = {k: decode(v, given) for k, v in line.items()}
        group = groups[index]
        if group is not None and group in failed:
            send(out, {"event": "skipped", "test": index})
            continue
        try:
            inspect.signature(fn).bind(**args)
        except (TypeError, ValueError) as exc:
            params = ", ".join(args)
            return send(out, {"event": "compile_error", "message":
                              f"{fn_name} cannot take the arguments ({params}): {exc}"})
        send(out, {"event": "start", "test": index})
        shape = returns_of.get(fn_name, returns) if spec is None else spec["returns"]
        try:
            result = fn(**args) if spec is None else transformed(fn, args, spec)
            leaves = [to_array(result)] if shape is None else flatten(result, shape)
        except Mismatch as exc:
            if group is not None:
                failed.add(group)
            send(out, {"event": "mismatch", "test": index, "message": str(exc)[:500]})
            continue
        except BaseException as exc:
            if group is not None:
                failed.add(group)
            send(out, {"event": "error", "test": index, "verdict": classify(exc),
                       "exception": exception_name(exc), "message": learner_trace(exc, path),
                       **({"class": type(exc).__name__[:100]} if spec is not None else {})})
            continue
        nbytes = sum(int(a.nbytes) for a in leaves)
        if nbytes > cap:
            if group is not None:
                failed.add(group)
            send(out, {"event": "output_limit", "test": index, "got_bytes": nbytes})
            continue
        if shape is None:
            arr = leaves[0]
            send(out, {"event": "result", "test": index, "dtype": arr.dtype.str,
                       "shape": list(arr.shape)}, arr.tobytes())
        else:  # one flat header (the judge refuses anything nested), the leaves back to back
            header: dict[str, Any] = {"event": "result", "test": index, "leaves": len(leaves),
                      "dtypes": [a.dtype.str for a in leaves],
                      "ndims": [a.ndim for a in leaves],
                      "dims": [int(d) for a in leaves for d in a.shape]}
            if len(json.dumps(header)) > HEADER_ROOM or max(a.ndim for a in leaves) > MAX_NDIM:
                # Shapes no declared return has (the spec bounds them): say so, not the channel.
                send(out, {"event": "mismatch", "test": index, "message":
                           "returned arrays with far more dims than declared"})
                continue
            send(out, header, b"".join(a.tobytes() for a in leaves))
    flush_learner()
    send(out, {"event": "done"})


if __name__ == "__main__":
    main()
    # Skip interpreter teardown: learner atexit hooks and threads get no last word.
    os._exit(0)
