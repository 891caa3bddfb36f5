# Every target bootstraps .venv from the exact pins in requirements.lock.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# dvc.yaml's commands call `python`: make it the one in .venv.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install repro test lint bench bench-cnn bench-startup bench-scale-corpus bench-scale bench-vad bench-seeds bench-robust lock report clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --requirement requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	# librosa's JIT helpers compiled by one process: workers compiling them at once can corrupt numba's cache.
	$(BIN)/python -m deepfake_audio.jit_cache
	touch $(STAMP)

repro: $(STAMP)
	$(BIN)/dvc repro
	$(BIN)/deepfake-audio metrics

# Markdown report of metric and plot changes against BASE (the CML pull-request comment).
BASE ?= main
report: $(STAMP)
	$(BIN)/deepfake-audio report --base $(BASE)

# Two processes, a test file each at a time (pytest-xdist), the end-to-end pipeline file first.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Lint, format and type checks (settings in pyproject.toml); CI runs them before the tests.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Feature extraction speed and peak memory: the featurize stage against plain librosa loops.
BENCH_FILES ?= 250 1000
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_featurize.py --files $(BENCH_FILES)

# CNN training speed: seconds per epoch, user/system CPU split and page faults; package settings vs glibc's malloc vs Eigen kernels.
EPOCHS ?= 4
bench-cnn: $(STAMP)
	$(BIN)/python benchmarks/bench_cnn.py --epochs $(EPOCHS)

# Time to first score of `deepfake-audio predict` on one file, per model (needs `make repro` first).
bench-startup: $(STAMP)
	$(BIN)/python benchmarks/bench_startup.py --repeats 5

# The whole pipeline at the real corpus's size (ASVspoof 2017 V2 counts), in a scratch worktree:
# each stage's time and peak memory. About an hour on 2 cores; FACTOR=0.1 for a quick try.
FACTOR ?= 1
bench-scale-corpus: $(STAMP)
	$(BIN)/python benchmarks/bench_scale_corpus.py --factor $(FACTOR) --log scale-corpus.log

# Feature extraction throughput: local processes vs a Dask LocalCluster with 1 and 2 workers.
N ?= 500
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py --files $(N)

# The CNN's seed noise: EER of 1, 3 and 5 seeds averaged (reuses the stage's first seed).
SEEDS ?= 5
bench-seeds: $(STAMP)
	$(BIN)/python benchmarks/bench_seeds.py --seeds $(SEEDS) --trained models/cnn.keras

# The trained models on stress variants of the eval split (short, narrowband, hi-fi playback,
# noisy, loud, quiet; needs `make repro` first): EER with intervals per model and variant.
bench-robust: $(STAMP)
	$(BIN)/python benchmarks/bench_robust.py --json robust.json

# The audit's speech detector against the embedded corpus's true speech boundaries.
bench-vad: $(STAMP)
	$(BIN)/python benchmarks/bench_vad.py --files 200

# Re-resolve the pins from pyproject.toml's direct dependencies (needs the registry).
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --disable-pip-version-check '.[test,lint,bench]' setuptools
	(echo '# Exact pins for Python 3.11 (x86_64 Linux). Regenerate with `make lock`.'; \
	 .lockenv/bin/pip freeze --exclude deepfake-audio --all | grep -v '^pip==' | sort -f) > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV)
