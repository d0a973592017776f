"""Problems: the list, and one problem's statement, signature and visible examples."""

from __future__ import annotations

from fastapi import APIRouter

from grader.model.problems import list_problems, signature
from grader.service.web.catalog import examples, find_problem
from grader.service.web.responses import errors
from grader.service.web.schemas import ProblemDetail, ProblemSummary
from grader.service.web.statements import split_hints

router = APIRouter(prefix="/api/v1/problems", tags=["problems"])


@router.get("", response_model=list[ProblemSummary], responses=errors())
def problems() -> list[ProblemSummary]:
    return [ProblemSummary(id=p.id, title=p.spec.title) for p in list_problems()]


@router.get("/{problem_id}", response_model=ProblemDetail, responses=errors(404, 422))
def problem(problem_id: str) -> ProblemDetail:
    p = find_problem(problem_id)
    # Without its Hints section: the problem's page gives those one at a time.
    return ProblemDetail(id=p.id, title=p.spec.title, statement=split_hints(p.statement())[0],
                         signature=signature(p), examples=examples(p))
