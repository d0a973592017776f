"""Every example of the problems other than reinforce_grad gets its folder's verdict (the rules
and the Docker subset are test_corpus.py's; the corpus is split in two modules only so that two
xdist workers share it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.sandbox.protocol import Sandbox
from tests.integration.test_corpus import EXAMPLES, check_example, corpus_params

OTHERS = [p for p in EXAMPLES if p.parent.parent.name != "reinforce_grad"]


def test_the_two_corpus_modules_together_walk_every_example() -> None:
    assert len(OTHERS) > 0 and len(EXAMPLES) > len(OTHERS)


@pytest.mark.parametrize(("sandbox", "path"), corpus_params(OTHERS), indirect=["sandbox"])
def test_example_gets_its_folders_verdict(path: Path, sandbox: Sandbox) -> None:
    check_example(path, sandbox)
