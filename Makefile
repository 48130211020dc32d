# The two commands of the README: `make repro` runs the pipeline, `make test` the tests.
# Each creates .venv on first use; nothing needs installing by hand.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: repro grid slurm-grid test test-cluster bench gpu-check venv clean-venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# ends with where the report is and its opening lines (the paper's claims, tested), not with DVC's log
repro: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH dvc repro && $(BIN)/python -m ecaser report

# `make grid JOBS=4`: the pipeline with JOBS training stages at once, as DVC experiments. The shared inputs
# (segments, features) are made first, here; each out-of-date training stage is then queued as an experiment of
# its own and `dvc exp run --run-all` runs JOBS at a time, each process on a free GPU (src/ecaser/runtime.py);
# the closing `dvc repro` restores every trained stage from DVC's run-cache and makes the report.
JOBS ?= 2
grid: $(STAMP)
	export PATH=$(abspath $(BIN)):$$PATH && set -e && \
	dvc repro $$(dvc stage list --name-only | grep -E '^(segment|stft@|dslstm_features|egemaps$$|ssl_embed@)') && \
	for stage in $$(dvc status --json | python -c 'import json, sys; print(*json.load(sys.stdin), sep="\n")' | \
	                grep -E '^(train_|augment_(cnn|eca)@|probe_ssl@)'); do \
	  dvc exp run --queue --quiet $$stage; \
	done && \
	dvc exp run --run-all --jobs $(JOBS) && \
	dvc repro

# `make slurm-grid JOBS=4`: the same grid as Slurm jobs sharing the default DVC remote: the shared inputs, an array
# task per out-of-date training stage, JOBS at a time, then the report here (docs/scale-out-slurm.md). sbatch options:
# ECASER_SBATCH='--partition=lab --time=2:00:00' (every job), ECASER_TRAIN_SBATCH='--gpus-per-task=1' (the tasks).
slurm-grid: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH python -m ecaser slurm-grid --jobs $(JOBS)

# two workers, each taking whole test modules (a module's built repository stays in one worker): on 2 cores the
# suite's DVC and Python start-ups overlap with the other worker's training (8 min 36 s -> 6 min 24 s here)
test: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH pytest -n 2 --dist loadfile

# The Slurm grid on a one-node cluster and an S3 server that the test starts on 127.0.0.1 (tests/test_cluster.py);
# skipped, with one line, without slurm-wlm and munge (apt-get install slurm-wlm munge) or root.
test-cluster: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH pytest -m cluster

bench: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/features.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/train_step.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/train_options.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/parallel_folds.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/pipeline.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/fingerprint.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/paper_scale.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/predict.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/checkpoint.py
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/ssl_encoders.py

# The prepared GPU check (docs/gpu-check.md): CUDA tests, training-step and fold rates, paper-scale epochs and the
# paper grids' projected hours, into OUT (default gpu-check/); without CUDA, a dry run at toy sizes on the CPU.
OUT ?= gpu-check
gpu-check: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH python benchmarks/gpu_check.py --out $(OUT)

clean-venv:
	rm -rf $(VENV)
