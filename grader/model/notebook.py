"""A Jupyter notebook as a submission: its code cells, joined, with IPython-only lines removed.

The notebook is the learner's: its bytes are bounded before they get here (the same cap as a
.py file), its cells are counted before the schema is checked, and every refusal is one line
naming the problem. Nothing of it is markup: the note names removed lines as plain text.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

SUFFIX = ".ipynb"
SOLUTION_TAG = "solution"
MAX_CELLS = 1000  # a long honest notebook has a few hundred
NOTE_LINES = 3  # removed lines the note quotes
NOTE_WIDTH = 30  # characters of each


class NotebookError(ValueError):
    """Why a notebook cannot be graded: one line for the learner."""


@dataclass(frozen=True)
class Code:
    """A notebook's Python: the source to grade and the IPython lines taken out of it."""

    source: bytes
    removed: tuple[str, ...]

    @property
    def note(self) -> str | None:
        if not self.removed:
            return None
        shown = [r if len(r) <= NOTE_WIDTH else r[:NOTE_WIDTH - 1] + "…"
                 for r in self.removed[:NOTE_LINES]]
        more = len(self.removed) - len(shown)
        lines = "line" if len(self.removed) == 1 else "lines"
        return (f"{len(self.removed)} IPython {lines} removed from the notebook: "
                f"{', '.join(shown)}{f' and {more} more' if more else ''}")


def is_notebook(name: str) -> bool:
    return name.lower().endswith(SUFFIX)


def _load(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise NotebookError(f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}) — "
                            "a notebook is the .ipynb file Jupyter saves") from None
    except RecursionError:
        raise NotebookError("not a notebook (JSON nested too deeply)") from None
    if not isinstance(data, dict):
        raise NotebookError("not a notebook (its JSON is not an object)")
    version = data.get("nbformat")
    if version != 4:
        shown = version if isinstance(version, int) and not isinstance(version, bool) else "none"
        raise NotebookError(f"nbformat version {shown}, not 4 — save it from Jupyter "
                            "(Notebook 5+, JupyterLab or VS Code)")
    cells = data.get("cells")
    if isinstance(cells, list) and len(cells) > MAX_CELLS:
        raise NotebookError(f"{len(cells)} cells, over the {MAX_CELLS}-cell cap")
    import nbformat  # loaded only for notebooks: it brings jsonschema along

    try:
        with warnings.catch_warnings():  # "missing cell id" and the like: not the learner's
            warnings.simplefilter("ignore")  # business, nor the log's
            nbformat.validate(data, version=4)
    except nbformat.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        message = str(exc.message).replace("\n", " ")
        raise NotebookError(f"not a valid nbformat v4 notebook ({where}: "
                            f"{message[:100]})") from None
    except RecursionError:
        raise NotebookError("not a notebook (JSON nested too deeply)") from None
    return data


def _text(source: str | list[str]) -> str:
    return (source if isinstance(source, str) else "".join(source)).replace("\r\n", "\n")


def _cell_code(text: str, removed: list[str]) -> str | None:
    """A cell's Python: None for a cell magic (%%...), which makes the whole cell another
    language; a line magic or shell escape becomes `pass` at its indentation, so a block it was
    alone in still parses and line numbers hold."""
    if text.lstrip().startswith("%%"):
        removed.append(text.lstrip().split("\n", 1)[0].strip())
        return None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        body = line.lstrip()
        if body.startswith(("%", "!")):
            removed.append(body.strip())
            lines[i] = line[:len(line) - len(body)] + "pass  # IPython line removed"
    return "\n".join(lines)


def notebook_code(raw: bytes) -> Code:
    """The Python a notebook submits: the code cells tagged `solution` if any is, else every code
    cell, in order; raises NotebookError naming what is wrong with it."""
    data = _load(raw)
    code = [c for c in data["cells"] if c["cell_type"] == "code"]
    if not code:
        raise NotebookError("no code cells")
    tagged = [c for c in code if SOLUTION_TAG in c.get("metadata", {}).get("tags", [])]
    removed: list[str] = []
    parts = [p for c in (tagged or code)
             if (p := _cell_code(_text(c["source"]), removed)) is not None]
    source = "\n\n".join(p.rstrip("\n") for p in parts) + "\n"
    try:
        return Code(source.encode("utf-8"), tuple(removed))
    except UnicodeEncodeError:  # a lone surrogate from a JSON \ud800 escape
        raise NotebookError("a code cell is not valid Unicode text") from None
