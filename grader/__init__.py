"""jaxjudge: an online judge for JAX numerical exercises."""

from __future__ import annotations

from typing import Any

__all__ = ["JudgeError", "Problem", "list_problems", "load_problem"]


def __getattr__(name: str) -> Any:
    """The package's names, loaded when first asked for: `jaxjudge submit` imports `grader`
    for its HTTP client alone, and the problem model (numpy, pydantic) cost it ~0.4 s."""
    if name == "JudgeError":
        from grader.errors import JudgeError
        return JudgeError
    if name in ("Problem", "list_problems", "load_problem"):
        from grader.model import problems
        return getattr(problems, name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
