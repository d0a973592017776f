"""A Jupyter notebook as a submission: which cells, what is removed, and each refusal's reason;
read from a file, uploaded to the API, and shown on the submission page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from grader.errors import SubmissionRefused
from grader.judging.judge import grade_submission
from grader.model.notebook import MAX_CELLS, NotebookError, notebook_code
from grader.model.problems import load_problem
from grader.model.submission import Submission, read_submission
from grader.sandbox.protocol import Sandbox
from grader.service.settings import Settings
from grader.service.store.users import create_user
from grader.service.web.app import create_app
from grader.verdict import Verdict


def cell(source: str | list[str], kind: str = "code", tags: list[str] | None = None
         ) -> dict[str, Any]:
    c: dict[str, Any] = {"cell_type": kind, "metadata": {"tags": tags} if tags else {},
                         "source": source}
    if kind == "code":
        c |= {"execution_count": None, "outputs": []}
    return c


def notebook(*cells: dict[str, Any], version: int = 4) -> bytes:
    return json.dumps({"nbformat": version, "nbformat_minor": 5, "metadata": {},
                       "cells": list(cells)}).encode()


def code(raw: bytes) -> str:
    return notebook_code(raw).source.decode()


def test_untagged_every_code_cell_joins_in_order_markdown_left_out() -> None:
    raw = notebook(cell("# Title\nsome *prose*", "markdown"),
                   cell(["import jax\n", "import jax.numpy as jnp"]),
                   cell("def f(x):\n    return jnp.sin(x)\n"), cell("print(f(1.0))"))
    assert code(raw) == ("import jax\nimport jax.numpy as jnp\n\n"
                         "def f(x):\n    return jnp.sin(x)\n\nprint(f(1.0))\n")
    assert notebook_code(raw).note is None


def test_tagged_cells_only_when_any_code_cell_is_tagged_solution() -> None:
    raw = notebook(cell("import numpy as np", tags=["solution"]),
                   cell("x = explore()  # scratch"),
                   cell("def f(x):\n    return x", tags=["other", "solution"]),
                   cell("not this", "markdown", tags=["solution"]))
    assert code(raw) == "import numpy as np\n\ndef f(x):\n    return x\n"
    # A tag on a markdown cell alone selects nothing: every code cell is the submission.
    raw = notebook(cell("a = 1"), cell("prose", "markdown", tags=["solution"]), cell("b = 2"))
    assert code(raw) == "a = 1\n\nb = 2\n"


def test_magics_and_shell_escapes_are_removed_and_noted() -> None:
    raw = notebook(cell("!pip install jax\nimport jax\n%matplotlib inline"),
                   cell("%%timeit\nf(1.0)\n"),
                   cell("def f(x):\n    if x:\n        %time g(x)\n    return x"))
    got = notebook_code(raw)
    src = got.source.decode()
    assert "pip" not in src and "%" not in src and "f(1.0)" not in src
    compile(src, "nb", "exec")  # the indented magic left its block a statement
    assert src.splitlines()[:2] == ["pass  # IPython line removed", "import jax"]
    assert got.removed == ("!pip install jax", "%matplotlib inline", "%%timeit", "%time g(x)")
    assert got.note == ("4 IPython lines removed from the notebook: !pip install jax, "
                        "%matplotlib inline, %%timeit and 1 more")
    one = notebook_code(notebook(cell("%timeit " + "x" * 50)))
    assert one.note == f"1 IPython line removed from the notebook: %timeit {'x' * 21}…"


def refusal(raw: bytes) -> str:
    with pytest.raises(NotebookError) as info:
        notebook_code(raw)
    message = str(info.value)
    assert "\n" not in message and len(message) < 240
    return message


def test_each_malformed_notebook_is_refused_naming_its_problem() -> None:
    assert refusal(b"def f(x):\n    return x\n").startswith("not JSON (line 1, column 1")
    assert refusal(b"\xff\xfe{}") == "not UTF-8 text (byte 0)"
    assert refusal(b"[1, 2]") == "not a notebook (its JSON is not an object)"
    assert refusal(notebook(cell("x = 1"), version=3)).startswith("nbformat version 3, not 4")
    assert refusal(b'{"cells": []}').startswith("nbformat version none, not 4")
    assert refusal(b'{"nbformat": true}').startswith("nbformat version none, not 4")
    assert refusal(notebook(cell("prose", "markdown"))) == "no code cells"
    assert refusal(notebook()) == "no code cells"
    many = notebook(*[cell("x = 1")] * (MAX_CELLS + 1))
    assert refusal(many) == f"{MAX_CELLS + 1} cells, over the {MAX_CELLS}-cell cap"
    no_source = json.loads(notebook(cell("x = 1")))
    del no_source["cells"][0]["source"]
    assert refusal(json.dumps(no_source).encode()) == (
        "not a valid nbformat v4 notebook (cells/0: 'source' is a required property)")
    bad_tags = notebook(cell("x = 1", tags=cast(list[str], "solution")))
    assert refusal(bad_tags).startswith("not a valid nbformat v4 notebook (cells/0/metadata")
    deep = b'{"nbformat": 4, "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert refusal(deep) == "not a notebook (JSON nested too deeply)"
    surrogate = notebook(cell("x = '\ud800'"))
    assert refusal(surrogate) == "a code cell is not valid Unicode text"


def test_a_notebook_file_is_refused_when_read_and_graded_as_its_code(tmp_path: Path) -> None:
    bad = tmp_path / "work.ipynb"
    bad.write_text("print('hi')\n")
    with pytest.raises(SubmissionRefused, match=r"work\.ipynb: refused: not JSON \(line 1"):
        read_submission(bad)
    (tmp_path / "work.py").write_text("print('hi')\n")  # the same text as .py is Python
    assert read_submission(tmp_path / "work.py").python()[1] == []
    good = tmp_path / "ok.ipynb"
    good.write_bytes(notebook(cell("%load_ext x\ny = 1")))
    sub = read_submission(good)
    assert sub.source == good.read_bytes()  # read as sent; converted when graded
    ran, notes = sub.python()
    assert ran == Submission(sub.name, b"pass  # IPython line removed\ny = 1\n")
    assert notes == ["1 IPython line removed from the notebook: %load_ext x"]


def test_a_stored_notebook_that_cannot_be_read_grades_as_a_compile_error() -> None:
    """One stored before intake checked notebooks never reaches a jail (the stub has none)."""
    problem = load_problem("reinforce_grad")
    stub = cast(Sandbox, type("NoJail", (), {"name": "none", "jail_uid": None})())
    report = grade_submission(problem, Submission("old.ipynb", b"{oops"), stub)
    assert report.verdict == Verdict.COMPILE_ERROR and report.submission == "old.ipynb"
    assert report.tests[0].message.startswith("old.ipynb: refused: not JSON")
    assert {t.verdict for t in report.tests} == {Verdict.COMPILE_ERROR}
    assert len(report.tests) > 1 and report.tests[1].message.startswith("not run: see ")


def test_the_api_takes_a_notebook_upload_refuses_a_bad_one_and_the_page_shows_its_code(
        tmp_path: Path) -> None:
    app = create_app(Settings(data=tmp_path, jobs=0))
    _, token, _ = create_user(app.state.db, "lea", "learner")
    auth = {"Authorization": f"Bearer {token}"}
    good = notebook(cell("<b>not markup</b>", "markdown"),
                    cell("def f(x):\n    return '<script>alert(1)</script>'"),
                    cell("!ls <img src=x>"))
    bad = {"no.ipynb": (b"def f(x): pass", "not JSON (line 1, column 1"),
           "v3.ipynb": (notebook(cell("x"), version=3), "nbformat version 3, not 4"),
           "md.ipynb": (notebook(cell("x", "markdown")), "no code cells")}
    with TestClient(app) as http:
        for name, (raw, why) in bad.items():
            r = http.post("/api/v1/submissions", headers=auth, data={"problem": "reinforce_grad"},
                          files={"file": (name, raw, "application/x-ipynb+json")})
            assert r.status_code == 400, r.text
            assert f"file: not a notebook that can be graded: {why}" in r.text
        r = http.post("/api/v1/submissions", headers=auth, data={"problem": "reinforce_grad"},
                      files={"file": ("my work.ipynb", good, "application/x-ipynb+json")})
        assert r.status_code == 201, r.text
        page = http.get(f"/submissions/{r.json()['id']}", headers=auth).text
    assert "my_work.ipynb" in page
    assert "return &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;" in page
    assert "<script>alert" not in page and "<img src=x>" not in page and "<b>not" not in page
    assert "nbformat" not in page  # the code, not the JSON
