"""Runs inside the sandbox: imports the learner's file, calls it per test, streams raw arrays back.

Standalone on purpose (stdlib, numpy, jax): the sandbox holds this file and nothing else of the
judge. Frames on the result fd are a JSON header line then `nbytes` raw bytes; never pickle.
"""

from __future__ import annotations

import base64
import inspect
import json
import os
import sys
import traceback
from typing import Any, BinaryIO


def send(out: BinaryIO, header: dict[str, Any], payload: bytes = b"") -> None:
    header["nbytes"] = len(payload)
    out.write(json.dumps(header).encode() + b"\n" + payload)
    out.flush()


def decode(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        raw = base64.b64decode(value["b64"])
        return np.frombuffer(raw, dtype=value["dtype"]).reshape(value["shape"]).copy()
    return value


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


def to_array(result: Any) -> Any:
    """Learner data to a plain numeric ndarray, converted here so the judge never runs its code."""
    import numpy as np

    arr = np.asarray(result)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"returned {type(result).__name__} with dtype {arr.dtype}, not numbers")
    return np.ascontiguousarray(arr)


def main() -> None:
    job = json.loads(sys.stdin.buffer.read())
    if job["result_fd"] == "stdout":
        # A container has one output stream for frames: move it aside and send everything the
        # learner prints to stderr instead.
        fd = os.dup(1)
        os.dup2(2, 1)
    else:
        fd = int(job["result_fd"])
    out = os.fdopen(fd, "wb", buffering=0)
    path, fn_name, cap = job["path"], job["function"], int(job["output_bytes"])
    import jax  # before the learner's code, so its import time is not charged to them

    jax.config.update("jax_platforms", "cpu")
    sys.path.insert(0, os.path.dirname(path))
    sys.argv = [path]
    send(out, {"event": "ready"})
    try:
        with open(path, encoding="utf-8") as f:
            code = compile(f.read(), path, "exec")
        namespace: dict[str, Any] = {"__name__": "submission", "__file__": path}
        exec(code, namespace)
    except SyntaxError as exc:
        return send(out, {"event": "compile_error", "message": learner_trace(exc, path)})
    except BaseException as exc:  # an import-time crash, SystemExit included, is a load failure
        return send(out, {"event": "compile_error",
                          "message": "your file fails to load:\n" + learner_trace(exc, path)})
    fn = namespace.get(fn_name)
    if not callable(fn):
        return send(out, {"event": "compile_error",
                          "message": f"your file defines no function named {fn_name!r}"})
    for index, test in enumerate(job["tests"]):
        args = {k: decode(v) for k, v in test.items()}
        try:
            inspect.signature(fn).bind(**args)
        except (TypeError, ValueError) as exc:
            params = ", ".join(args)
            return send(out, {"event": "compile_error", "message":
                              f"{fn_name} cannot take the arguments ({params}): {exc}"})
        send(out, {"event": "start", "test": index})
        try:
            arr = to_array(fn(**args))
        except BaseException as exc:
            send(out, {"event": "error", "test": index, "verdict": classify(exc),
                       "message": learner_trace(exc, path)})
            continue
        if arr.nbytes > cap:
            send(out, {"event": "output_limit", "test": index, "got_bytes": int(arr.nbytes)})
            continue
        send(out, {"event": "result", "test": index, "dtype": arr.dtype.str,
                   "shape": list(arr.shape)}, arr.tobytes())
    send(out, {"event": "done"})


if __name__ == "__main__":
    main()
    # Skip interpreter teardown: learner atexit hooks and threads get no last word.
    os._exit(0)
