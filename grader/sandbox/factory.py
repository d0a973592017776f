"""The one place a backend name becomes a sandbox."""

from __future__ import annotations

from pathlib import Path

from grader.errors import JudgeError
from grader.sandbox.container import DockerSandbox
from grader.sandbox.local import SANDBOX_UID, LocalSandbox
from grader.sandbox.protocol import Sandbox

# The sandboxes that may keep a jail or container started ahead.
ReadySandbox = LocalSandbox | DockerSandbox

BACKENDS = ("local", "docker")


def make_sandbox(backend: str, compile_cache: Path | None, unsandboxed: bool = False,
                 slot: int = 0, per_process_limits: bool = False,
                 keep_ready: bool = False) -> Sandbox:
    """The sandbox for a backend name, reading the XLA cache at `compile_cache`; slot `n` of
    concurrent graders gets its own jail uid. per_process_limits: the local backend grades where
    no cgroup can be made (else it refuses). keep_ready: bubblewrap keeps a jail started ahead,
    Docker a container (see `ready_sandbox`; the owner calls its `close()`); uid isolation and
    unsandboxed runs start one process per job."""
    if backend == "docker":
        if unsandboxed:
            raise JudgeError("--unsafe-no-sandbox applies to the local backend only")
        return DockerSandbox(compile_cache=compile_cache, keep_ready=keep_ready)
    if backend != "local":
        raise JudgeError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    # One uid per slot: concurrent jails must not share an RLIMIT_NPROC budget. Unisolated code
    # gets no compile cache: it would write to it.
    return LocalSandbox(unsandboxed=unsandboxed, uid=SANDBOX_UID + slot,
                        compile_cache=None if unsandboxed else compile_cache,
                        per_process_limits=per_process_limits, keep_ready=keep_ready)


def ready_sandbox(sandbox: Sandbox | None) -> ReadySandbox | None:
    """`sandbox` when it keeps a jail or container started ahead (its owner calls `prepare`
    and `close`), else None."""
    return sandbox if isinstance(sandbox, LocalSandbox | DockerSandbox) else None
