"""The marker rule of tests/conftest.py: which costly resources a test uses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.markers import BROWSER_MODULES, DOCKER_MODULES, SERVICE_MODULES, classify

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"


@pytest.mark.parametrize(("fixtures", "params", "module", "expected"), [
    (["tmp_path"], {}, "tests.unit.test_spec", set()),
    (["docker_sandbox", "tmp_path"], {}, "tests.integration.test_compile_cache", {"docker"}),
    (["sandbox", "fast_problem"], {"sandbox": "docker"}, "tests.integration.test_hostile",
     {"docker"}),
    (["sandbox", "fast_problem"], {"sandbox": "local"}, "tests.integration.test_hostile", set()),
    (["any_sandbox"], {"any_sandbox": "docker", "owner": 0},
     "tests.integration.test_submission_files", {"docker"}),
    (["any_sandbox"], {"any_sandbox": "uid", "owner": 0},
     "tests.integration.test_submission_files", set()),
    # a "docker" value of some other parameter is not the engine
    (["tmp_path"], {"name": "docker"}, "tests.integration.test_corpus", set()),
    (["tmp_path"], {}, "tests.integration.test_docker", {"docker"}),
    (["browser", "world"], {}, "tests.integration.test_pages", {"browser", "services"}),
    (["postgres", "tmp_path"], {}, "tests.integration.test_streams", {"services"}),
    (["cluster", "verdicts"], {}, "tests.integration.test_service_scale", {"services"}),
    (["redis_server"], {}, "tests.integration.test_elsewhere", {"services"}),
    (["web"], {}, "tests.integration.test_service_sessions", {"services"}),
])
def test_classify(fixtures: list[str], params: dict[str, object], module: str,
                  expected: set[str]) -> None:
    assert classify(fixtures, params, module) == expected


def _uses(path: Path) -> set[str]:
    """What a module's code starts itself: the names it refers to, "docker" for the Docker SDK or
    CLI (`import docker`, an argv beginning with "docker"), and "marked browser" for a test
    decorated with pytest.mark.browser."""
    tree = ast.parse(path.read_text())
    found = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    found |= {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
              for a in n.names}
    if any(a.name == "docker" for n in ast.walk(tree) if isinstance(n, ast.Import)
           for a in n.names) or any(
            isinstance(n, ast.List) and n.elts and isinstance(n.elts[0], ast.Constant)
            and n.elts[0].value == "docker" for n in ast.walk(tree)):
        found.add("docker")
    if any(ast.unparse(d) == "pytest.mark.browser" for n in ast.walk(tree)
           if isinstance(n, ast.FunctionDef) for d in n.decorator_list):
        found.add("marked browser")
    return found


def test_every_module_starting_a_resource_in_its_body_is_listed() -> None:
    """A new module that starts a server, a browser or Docker itself, not through a fixture the
    rule knows, must be added to the tables in tests/markers.py (or mark its tests)."""
    unlisted = []
    for path in sorted(INTEGRATION.glob("test_*.py")):
        module, uses = f"tests.integration.{path.stem}", _uses(path)
        if uses & {"Server", "Worker", "Cluster", "Postgres", "Redis"} and \
                module not in SERVICE_MODULES:
            unlisted.append(f"{module}: services")
        if "chromium" in uses and module not in BROWSER_MODULES and "marked browser" not in uses:
            unlisted.append(f"{module}: browser")
        if "docker" in uses and module not in DOCKER_MODULES:
            unlisted.append(f"{module}: docker")
    assert unlisted == []
