"""Reading a submission from a hostile request: bounded, UTF-8 text, for a real problem."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import numpy as np
from fastapi import Request
from starlette.datastructures import UploadFile

from grader.model.notebook import NotebookError, is_notebook, notebook_code
from grader.model.problems import Problem
from grader.service.errors import BadRequest, Invalid, TooLarge
from grader.service.store.queries import Intake
from grader.service.web.catalog import find_problem

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")
MAX_JSON_DEPTH = 32  # a submission is one flat object; deeper is never a real client


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{field}: expected a string")
    return value


def utf8_source(source: bytes | str, cap: int) -> bytes:
    if isinstance(source, str):
        try:
            source = source.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a JSON \ud800 escape
            raise BadRequest("source: not valid Unicode text") from None
    if len(source) > cap:
        raise TooLarge(f"source is {len(source)} bytes, over the {cap // 1024} KiB cap")
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"source: not UTF-8 text (byte {exc.start})") from None
    return source


_BRACKET = np.zeros(256, np.int32)
_BRACKET[[ord("["), ord("{")]], _BRACKET[[ord("]"), ord("}")]] = 1, -1
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes) -> int:
    """How deep a JSON text nests, its strings skipped, without parsing it: byte-string passes
    and one cumulative sum (no Python loop over the body, no recursion). Exact for valid JSON;
    UTF-8 is safe, since no byte of a multi-byte character is ASCII."""
    # Every backslash starts an escape: drop escaped backslashes, then escaped quotes; the
    # quotes left open and close strings, so every other piece between them is outside.
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(text.split(b'"')[::2]).translate(None, _NOT_BRACKET)
    if not outside:
        return 0
    return int(np.cumsum(_BRACKET[np.frombuffer(outside, np.uint8)]).max())


def _run_flag(value: object, texts: dict[str, bool] | None = None) -> bool:
    """`run` as documented: a JSON boolean, or a form's text (`texts`); absent is false."""
    if texts is None and isinstance(value, bool):
        return value
    if texts is not None and isinstance(value, str) and value in texts:
        return texts[value]
    raise Invalid("run: expected true or false")


FORM_RUN = {"true": True, "false": False}
EDITOR_RUN = {"1": True}  # the problem page's Run button


def parse_json(body: bytes) -> Any:
    """A client's JSON, its nesting bounded before parsing (50,000 levels raised RecursionError
    in the parser: a 500), so neither the parser nor any code after it recurses deeply."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8") from None
    if json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"JSON nested over {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except RecursionError:  # not reachable past the check above; never a 500 all the same
        raise BadRequest(f"JSON nested over {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        raise BadRequest("malformed JSON body") from None


async def read_intake(request: Request, cap: int) -> Intake:
    """JSON {"problem", "source", "run"?} or a multipart form with `problem`, a `file` upload
    and optionally `run`: a Run when true."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        data = parse_json(await request.body())  # size bounded by the BodyLimit middleware
        if not isinstance(data, dict):
            raise Invalid("expected a JSON object {\"problem\": ..., \"source\": ...}")
        missing = [k for k in ("problem", "source") if k not in data]
        if missing:
            raise Invalid(f"missing field(s): {', '.join(missing)}")
        problem = find_problem(_text(data["problem"], "problem")).id
        return Intake(problem, f"{problem}.py", utf8_source(_text(data["source"], "source"), cap),
                      run="run" in data and _run_flag(data["run"]))
    if kind == "multipart/form-data":
        # Fields the schema does not name are ignored (and so allowed): a few dozen of them.
        form = await request.form(max_files=1, max_fields=32, max_part_size=64 * 1024)
        upload, problem_id = form.get("file"), form.get("problem")
        run = "run" in form and _run_flag(form["run"], FORM_RUN)
        if problem_id is None:
            raise Invalid("missing field: problem")
        if upload is None:
            raise Invalid("missing field: file (the .py or .ipynb file to grade)")
        problem = find_problem(_text(problem_id, "problem")).id
        if isinstance(upload, str):  # the file's text as a plain field (no filename)
            return Intake(problem, f"{problem}.py", utf8_source(upload, cap), run=run)
        return dataclasses.replace(await read_upload(upload, problem, cap), run=run)
    raise BadRequest("send application/json or multipart/form-data")


async def read_upload(upload: UploadFile, problem: str, cap: int) -> Intake:
    """An uploaded file: at most `cap` bytes of UTF-8, its name made safe to show and store."""
    source = await upload.read(cap + 1)
    name = SAFE_NAME.sub("_", (upload.filename or "").rsplit("/", 1)[-1])[:100]
    source = utf8_source(source, cap)
    if is_notebook(name):  # stored as sent; graded as its code cells (Submission.python)
        try:
            notebook_code(source)
        except NotebookError as exc:
            raise BadRequest(f"file: not a notebook that can be graded: {exc}") from None
    return Intake(problem, name or f"{problem}.py", source)


async def read_editor_form(request: Request, problem: Problem, cap: int) -> Intake:
    """The problem page's form: the editor's text, or the uploaded file when one was chosen;
    a Run when its Run button sent it (`run=1`)."""
    form = await request.form(max_files=1, max_fields=8, max_part_size=cap + 1024)
    upload, text = form.get("file"), form.get("source")
    run = "run" in form and _run_flag(form["run"], EDITOR_RUN)
    if isinstance(upload, UploadFile) and upload.filename:
        return dataclasses.replace(await read_upload(upload, problem.id, cap), run=run)
    if not isinstance(text, str) or not text.strip():
        raise Invalid("write your solution in the editor or choose a file")
    return Intake(problem.id, f"{problem.id}.py", utf8_source(text.replace("\r\n", "\n"), cap),
                  run=run)


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise BadRequest("Idempotency-Key: 1 to 128 printable ASCII characters")
    return key
