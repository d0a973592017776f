"""The spec's examples: a diagnosis (a known-wrong example and what its author reads) and a
mutant `verify --mutants` may let survive with a reason."""

from __future__ import annotations

from pydantic import Field

from grader.model.strict import Strict

EXAMPLE = r"^[A-Za-z0-9_]+/[A-Za-z0-9_.-]+\.py$"  # a path under submissions/<problem>/


class Diagnosis(Strict):
    """A known-wrong example and the message a learner whose outputs match it should read."""

    example: str = Field(pattern=EXAMPLE,
                         description="path under submissions/<problem>/, e.g. wrong_answer/x.py")
    message: str = Field(min_length=1)


class EquivalentMutant(Strict):
    """A mutant `verify --mutants` lets survive because it gives the same answer (a reordering,
    a term that is zero): listed as explained, not as a hole in the tests."""

    source: str = Field(pattern=r"^(reference|[A-Za-z0-9_]+/[A-Za-z0-9_.-]+\.py)$",
                        description=("the trusted solution mutated: `reference` or a "
                                     "trusted example, e.g. accepted/x.py"))
    line: int = Field(ge=1)
    change: str = Field(min_length=1, description=(
        "the slip as `verify --mutants` words it, e.g. `a + b` in place of `a - b`"))
    reason: str = Field(min_length=1, description="why the answer does not change")


def check_equivalent_mutants(mutants: list[EquivalentMutant], trusted_examples: list[str]) -> None:
    """Each names a trusted solution (only those are mutated), and none twice (ValueError)."""
    trusted = ["reference", *trusted_examples]
    for i, m in enumerate(mutants):
        if m.source not in trusted:
            raise ValueError(f"equivalent_mutants.{i}: source {m.source!r} is no trusted "
                             f"solution (one of {trusted}); only those are mutated")
    keys = [(m.source, m.line, m.change) for m in mutants]
    if len(set(keys)) != len(keys):
        raise ValueError("equivalent_mutants lists one mutant twice")
