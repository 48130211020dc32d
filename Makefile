# The two commands of the README: `make repro` runs the pipeline, `make test` the tests.
# Each creates .venv on first use; nothing needs installing by hand.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: repro test bench venv clean-venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

repro: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH dvc repro

test: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH pytest

bench: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/features.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/train_step.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/train_options.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/pipeline.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/fingerprint.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/paper_scale.py

clean-venv:
	rm -rf $(VENV)
