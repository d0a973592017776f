"""Which costly resources a test uses, as pytest markers, so a developer can run a fast subset:

    pytest -m "not docker and not browser and not services and not slow"

`classify` is the rule, a pure function; tests/conftest.py applies it to every collected item.
A test starting one of these in its body, not through a fixture, is caught by its module being
listed below (tests/unit/test_markers.py checks that every module starting one is listed) or
by an explicit mark on the test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DOCKER_FIXTURES = frozenset({"docker_sandbox"})
# Fixtures parametrised over backends; their "docker" param is the Docker engine.
BACKEND_FIXTURES = frozenset({"sandbox", "any_sandbox"})
BROWSER_FIXTURES = frozenset({"browser"})
SERVICE_FIXTURES = frozenset({"postgres", "redis_server", "cluster"})

# Modules whose tests start the resource in their body or in a module fixture of their own.
DOCKER_MODULES = frozenset({"tests.integration.test_docker"})  # the judge image, the engine
BROWSER_MODULES = frozenset({"tests.integration.test_pages"})
SERVICE_MODULES = frozenset({f"tests.integration.test_{name}" for name in (
    "api_fuzz", "hidden_channels", "hostile_requests", "migrations", "pages", "service",
    "service_abuse", "service_conns", "service_durability", "service_nginx", "service_postgres",
    "service_reports", "service_scale", "service_sessions", "streams")})


def classify(fixturenames: Iterable[str], params: Mapping[str, object], module: str) -> set[str]:
    """The markers of a test using `fixturenames`, parametrised with `params` (its callspec's),
    defined in the module named `module`."""
    used = set(fixturenames)
    found = set()
    if (used & DOCKER_FIXTURES or module in DOCKER_MODULES
            or any(params.get(name) == "docker" for name in BACKEND_FIXTURES & used)):
        found.add("docker")
    if used & BROWSER_FIXTURES or module in BROWSER_MODULES:
        found.add("browser")
    if used & SERVICE_FIXTURES or module in SERVICE_MODULES:
        found.add("services")
    return found
