"""The trusted cache writer's runner: `python -m grader.sandbox.stripped RUNNER` strips every
program's source locations (strip_locations), then runs the runner as its main script. Only
unsandboxed runs that write the compile cache start it; the jail's runner stays the one file of
the judge a jail holds."""

from __future__ import annotations

import runpy
import sys
from typing import Any


def strip_locations() -> None:
    """Every program loses its
    source locations (file names, lines, the name stack of the functions it was traced from)
    before it is compiled, so no cache entry carries them. The cache key already ignores them:
    an entry serves the same programs, and is exactly what compiling its key's program gives."""
    from jax._src import compiler
    from jax._src.lib.mlir import passmanager

    original = compiler.compile_or_get_cached

    def compile_stripped(backend: Any, computation: Any, *args: Any, **kwargs: Any) -> Any:
        with computation.context:
            strip = passmanager.PassManager.parse("builtin.module(strip-debuginfo)")
            strip.run(computation.operation)
        return original(backend, computation, *args, **kwargs)

    compiler.compile_or_get_cached = compile_stripped


if __name__ == "__main__":
    strip_locations()
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
