"""The judge's own exception hierarchy; learner mistakes are verdicts, never these."""

from __future__ import annotations


class JudgeError(Exception):
    """Anything the judge cannot do; the CLI maps it to exit status 2."""


class SpecError(JudgeError):
    """A problem spec that does not load: names the file, the key path and what was expected."""

    def __init__(self, path: str, key: str, message: str) -> None:
        self.path = path
        self.key = key
        self.message = message
        where = f"{path}: {key}" if key else path
        super().__init__(f"{where}: {message}")


class UnknownProblemError(JudgeError):
    """A problem id that has no folder under problems/."""


class ReferenceSolutionError(JudgeError):
    """The trusted reference solution failed or returned the wrong shape or dtype."""


class SubmissionRefused(JudgeError):
    """A submission that is not a readable file of UTF-8 text within the size cap: the message
    is one line naming it and why, meant for the learner who uploaded it."""
