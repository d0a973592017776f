# Every target bootstraps .venv itself when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint system-deps bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# bubblewrap is the local sandbox; install it where we can, say how where we cannot.
system-deps:
	@if command -v bwrap >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; \
	else echo "jaxjudge needs bubblewrap: run 'sudo apt-get install bubblewrap' (or your OS's package)"; fi

setup: system-deps $(STAMP)

demo: setup
	$(BIN)/jaxjudge list
	$(BIN)/jaxjudge grade reinforce_grad submissions/reinforce_grad/accepted/vmap_grad_log_softmax.py
	-$(BIN)/jaxjudge grade reinforce_grad submissions/reinforce_grad/wrong_answer/raw_logits.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check grader reference tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/grade_vs_floor.py --repeats 3
	$(BIN)/python benchmarks/batch_throughput.py --class-size 40
