# Every target bootstraps .venv itself when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo serve test test-fast lint docs system-deps bench wheels image docker-setup

# compileall: the package is installed in place (-e), so no bytecode is written for it at
# install; where PYTHONDONTWRITEBYTECODE is set (this CI machine's environment) every
# process that imports the judge would compile its ~110 modules again (~0.25 s of CPU for
# `jaxjudge grade`'s 67). A .pyc older than its source is ignored, never wrong.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q grader
	touch $(STAMP)

# bubblewrap is the local sandbox; Node.js and npm build the page's editor; Chromium with its
# driver runs the pages' browser tests;
# redis-server and PostgreSQL are what the many-machine tests run against; nginx runs
# docs/nginx.conf in front of the judge. Install what is
# missing where we can, say how where we cannot. apt-get runs under a lock file that
# .ci/docker-setup takes too: .ci/run starts both at once, and DPkg::Lock::Timeout waits for
# dpkg's lock but not for `update`'s lists lock (a fresh machine failed on it).
APT_DEPS := bubblewrap:/usr/bin/bwrap chromium:/usr/bin/chromium \
	chromium-driver:/usr/bin/chromedriver redis-server:/usr/bin/redis-server \
	postgresql:/usr/lib/postgresql/15/bin/initdb nginx:/usr/sbin/nginx \
	nodejs:/usr/bin/node npm:/usr/bin/npm
system-deps:
	@missing=""; for dep in $(APT_DEPS); do \
		[ -x "$${dep#*:}" ] || missing="$$missing $${dep%%:*}"; done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		flock -w 900 /run/lock/jaxjudge-apt.lock sh -c "apt-get -o DPkg::Lock::Timeout=300 \
			update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
			install -y -qq $$missing"; \
	else echo "jaxjudge needs:$$missing: run 'sudo apt-get install$$missing' (or your OS's packages)"; fi

# The problem page's editor (CodeMirror 6, web/): npm ci from the lockfile, then esbuild bundles
# it into the package's static files. The bundle is not committed; without it the page's editor
# is the plain textarea. web/node_modules also holds axe-core for the browser tests.
EDITOR_JS := grader/service/web/static/editor.js
$(EDITOR_JS): web/package.json web/package-lock.json web/build.mjs web/editor.js
	cd web && npm ci --no-audit --no-fund --loglevel=error && node build.mjs

setup: system-deps $(STAMP) $(EDITOR_JS)

demo: setup
	$(BIN)/jaxjudge list
	$(BIN)/jaxjudge grade reinforce_grad submissions/reinforce_grad/accepted/vmap_grad_log_softmax.py
	-$(BIN)/jaxjudge grade reinforce_grad submissions/reinforce_grad/wrong_answer/raw_logits.py

# The online judge on 127.0.0.1:8000 with demo accounts (created or reset idempotently).
DATA ?= .jaxjudge-data
serve: setup
	@for who in alice:learner bob:learner ines:instructor; do \
		name=$${who%%:*}; role=$${who##*:}; \
		echo "== $$name ($$role)"; \
		$(BIN)/jaxjudge admin create-user $$name --role $$role --password $$name-demo \
			--exist-ok --data $(DATA) || exit 1; \
	done
	$(BIN)/jaxjudge warm reinforce_grad
	@echo
	@echo "Sign in at http://127.0.0.1:8000/login as alice / alice-demo (instructor: ines / ines-demo)."
	@echo "API docs: http://127.0.0.1:8000/docs.  Submit from a shell:"
	@echo "  JAXJUDGE_TOKEN=<alice's token above> $(BIN)/jaxjudge submit reinforce_grad \\"
	@echo "      submissions/reinforce_grad/accepted/vmap_grad_log_softmax.py --server http://127.0.0.1:8000"
	$(BIN)/jaxjudge serve --host 127.0.0.1 --port 8000 --data $(DATA)

# Every example and attack through bubblewrap, what Docker enforces through Docker
# (tests/integration/backends.py), on 3 pytest-xdist workers (tests/conftest.py partitions
# what they share). PYTEST_WORKERS=0 runs the suite in this one process. .ci/test-suite runs
# the tests not marked docker and, beside them, .ci/docker-tests: the images (docker-setup),
# then the tests marked docker.
export PYTEST_WORKERS ?= 3
test: system-deps $(STAMP) $(EDITOR_JS)
	bash .ci/test-suite

# The subset that needs no Docker, browser, server or database and skips the slow tests
# (markers set by tests/conftest.py): unit tests and the bubblewrap sandbox's.
test-fast: system-deps $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile \
		-m "not docker and not browser and not services and not slow"

# Engine, local base image and images (idempotent; apt-installs docker.io when root on Debian).
docker-setup: $(STAMP)
	bash .ci/docker-setup

lint: $(STAMP)
	$(BIN)/ruff check grader reference tests benchmarks
	$(BIN)/mypy

# The documentation site (MkDocs Material, offline) into site/; --strict: a broken link fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# Container images, built with networking off: Python packages come from ./wheels, pinned to
# exactly the versions in .venv (the judge's expected outputs need the submission's JAX).
BASE_IMAGE ?= python:3.11-slim
DOCKER_BUILD_FLAGS ?=
WARM_PROBLEMS ?=# the judge image's warmed problems; empty: every one
DOCKER_BUILD = DOCKER_BUILDKIT=0 docker build $(DOCKER_BUILD_FLAGS) --network none --build-arg BASE_IMAGE=$(BASE_IMAGE) \
	--build-arg WARM_PROBLEMS="$(WARM_PROBLEMS)" \
	--build-arg JAX_VERSION=$$($(BIN)/python -c 'from importlib.metadata import version; print(version("jax"))')

wheels: $(STAMP)
	$(BIN)/pip freeze --exclude-editable > wheels/constraints.txt
	$(BIN)/pip download --quiet --dest wheels --constraint wheels/constraints.txt \
		. setuptools wheel  # the project's own dependencies, whatever they are

# The legacy builder builds every stage up to its target, and the judge is the last: its build
# makes the runner's stages too, and the runner's build then reuses them. With
# DOCKER_BUILD_FLAGS=--no-cache (CI's fresh path) only the judge's build drops the cache, so both
# images come from layers made in this run and the shared venv is installed once.
image: wheels
	$(DOCKER_BUILD) --target judge --tag jaxjudge:judge .
	$(subst --no-cache,,$(DOCKER_BUILD)) --target runner --tag jaxjudge:runner .

# The service benchmarks start servers through the test suite's fixtures (tests/integration).
bench: export PYTHONPATH := $(CURDIR)
bench: $(STAMP) docker-setup
	$(BIN)/python benchmarks/grade_vs_floor.py --repeats 3
	$(BIN)/python benchmarks/batch_throughput.py --class-size 40
	$(BIN)/python benchmarks/backends.py --repeats 3
	$(BIN)/python benchmarks/example_times.py
	$(BIN)/python benchmarks/service_latency.py
	$(BIN)/python benchmarks/service_throughput.py --rounds 3
	# latency_goals.py measures the throughput with and without ready jails, and submit
	# against grade, with the real CLI: ready_jails.py's own rounds of both would repeat them.
	$(BIN)/python benchmarks/ready_jails.py --only startup --only backends
	$(BIN)/python benchmarks/latency_goals.py
	$(BIN)/python benchmarks/submit_breakdown.py
