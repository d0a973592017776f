"""The package's layers: each module imports only from its own layer or those below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GRADER = Path(__file__).resolve().parents[2] / "grader"
# Bottom to top (docs/development.md, "Architecture"); errors and verdict are the base of all.
LAYERS = ["errors", "verdict", "sandbox", "model", "data", "judging", "tools", "batch",
          "service", "cli"]
BASE = {"errors", "verdict"}
# Inside grader/service, the rooms bottom to top: the store, grading, the web. The modules at
# the service's top (settings, logs, errors) are the base every room may use; they use no room.
ROOMS = ["store", "grading", "web"]
ROUTES = "grader.service.web.routes"


def layer(module: str) -> int:
    """The layer of a dotted module name under grader."""
    part = module.split(".")[1] if module.count(".") else ""
    return 0 if part in BASE else LAYERS.index(part)


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(GRADER.rglob("*.py")):
        rel = path.relative_to(GRADER.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append((".".join(parts), path))
    return found


def imports(module: str, path: Path) -> list[str]:
    """Every grader module this file imports, at any depth of its code (lazy imports too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("grader")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            if base == "grader":  # from grader import x: x is the module imported
                out += [f"grader.{a.name}" for a in node.names]
            elif base.startswith("grader."):
                out.append(base)
    return out


def test_the_layers_cover_every_module() -> None:
    top = {m.split(".")[1] for m, _ in modules() if m.count(".")}
    assert top <= set(LAYERS), top - set(LAYERS)


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_no_module_imports_from_a_layer_above_it(module: str, path: Path) -> None:
    if module == "grader":
        return
    upward = [i for i in imports(module, path) if layer(i) > layer(module)]
    assert upward == [], f"{module} (layer {LAYERS[layer(module)]}) imports {upward}"


def room(module: str) -> int:
    """The room of a module under grader.service: 0 for its base, then 1 + ROOMS' index."""
    part = module.split(".")[2] if module.count(".") >= 2 else ""
    return ROOMS.index(part) + 1 if part in ROOMS else 0


def service_modules() -> list[tuple[str, Path]]:
    return [(m, p) for m, p in modules() if m.startswith("grader.service.")]


def test_the_rooms_cover_every_service_module() -> None:
    """Each service module is in a room, or one of the few base modules at the top."""
    top = {m.split(".")[2] for m, p in service_modules() if room(m) == 0}
    assert top <= {"settings", "logs", "errors"}, top


@pytest.mark.parametrize(("module", "path"), service_modules(),
                         ids=[m for m, _ in service_modules()])
def test_no_service_module_imports_from_a_room_above_it(module: str, path: Path) -> None:
    inside = [i for i in imports(module, path) if i.startswith("grader.service.")]
    upward = [i for i in inside if room(i) > room(module)]
    assert upward == [], f"{module} imports {upward}"


@pytest.mark.parametrize(("module", "path"), service_modules(),
                         ids=[m for m, _ in service_modules()])
def test_no_route_imports_another_route(module: str, path: Path) -> None:
    """Routes share what they share through a room's modules (store.queries, web.deps, ...)."""
    if not module.startswith(ROUTES + "."):
        return
    routes = [i for i in imports(module, path) if i == ROUTES or i.startswith(ROUTES + ".")]
    assert routes == [], f"{module} imports {routes}"


def test_the_runner_imports_nothing_of_the_judge() -> None:
    """It runs inside the jail, where nothing of the judge but this one file exists."""
    runner = GRADER / "sandbox" / "runner.py"
    assert imports("grader.sandbox.runner", runner) == []


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_no_module_is_over_300_lines(module: str, path: Path) -> None:
    # The runner is the jail's only file of the judge (one file by design): until it is split
    # into files the sandboxes all mount, it may hold the function checks' transform and a
    # ready jail's warm-up too (the trusted writer's location stripping moved out for them).
    limit = 360 if module == "grader.sandbox.runner" else 300
    assert len(path.read_text(encoding="utf-8").splitlines()) <= limit, module


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself: a model module reaching up into the judging layer fails it."""
    bad = tmp_path / "bad.py"
    bad.write_text("from grader.judging.judge import grade_submission\n"
                   "def f():\n    from grader import cli\n")
    found = imports("grader.model.bad", bad)
    assert found == ["grader.judging.judge", "grader.cli"]
    assert all(layer(i) > layer("grader.model.bad") for i in found)


def test_a_service_import_across_rooms_is_caught(tmp_path: Path) -> None:
    """The rooms' check: the store reaching into the web, and a route into another route."""
    bad = tmp_path / "bad.py"
    bad.write_text("from grader.service.web.security import Principal\n"
                   "def f():\n    from grader.service.grading import queue\n"
                   "    from .submissions_api import router\n")
    found = imports("grader.service.store.bad", bad)
    assert found[:2] == ["grader.service.web.security", "grader.service.grading"]
    assert all(room(i) > room("grader.service.store.bad") for i in found[:2])
    route = imports("grader.service.web.routes.bad", bad)[2]
    assert route == "grader.service.web.routes.submissions_api"
