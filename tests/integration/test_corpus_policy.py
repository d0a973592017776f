"""The examples of PARTS["policy"] (tests/integration/corpus.py), each graded through the real
sandbox: its folder's verdict, and the feedback a learner making its mistake must read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grader.model.problems import Problem
from grader.sandbox.protocol import Sandbox
from tests.integration.corpus import check_example, corpus_params


@pytest.mark.parametrize(("sandbox", "path"), corpus_params("policy"), indirect=["sandbox"])
def test_example_gets_its_folders_verdict(path: Path, sandbox: Sandbox,
                                          warmed_for: Callable[[Problem], Path]) -> None:
    check_example(path, sandbox, warmed_for)
