# The two set-up commands in the README are `make demo` and `make test`; both install what
# they need into .venv (Python packages from PyPI, the Rust extension built by maturin).
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
SHARED ?= $(abspath ../shared)
OUT    ?= out/demo
export PLACEWISE_SHARED_DATA := $(SHARED)/data
export MPLBACKEND := Agg

.PHONY: demo test install deps rust-test lint fmt py-test stubtest notebooks bench audits results clean browser

$(VENV)/.deps: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -r requirements-dev.txt
	touch $@

deps: $(VENV)/.deps

install: deps
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release --quiet

demo: install
	$(VENV)/bin/placewise demo --out $(OUT)

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --features python -- -D warnings

rust-test:
	cargo test

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium could not be installed: the browser test of the HTML report will be skipped"

py-test: install browser
	$(VPY) -m pytest -q

stubtest: install
	$(VPY) -m mypy.stubtest placewise._native

notebooks: install
	$(VPY) scripts/run_notebooks.py notebooks

test: lint rust-test stubtest notebooks py-test

audits: install
	$(VPY) scripts/make_audits.py $(SHARED)/data

results: install
	$(VPY) scripts/backtest_table.py $(SHARED)/data

# Speed figures, not tests: criterion benches, then the peer comparisons (each prints ratios
# measured in one process). Long: tens of minutes on 2 cores.
bench: install
	cargo bench
	$(VPY) bench/ingest.py $(SHARED)/data
	$(VPY) bench/kde.py
	$(VPY) bench/stats.py
	$(VPY) bench/sepp.py
	$(VPY) bench/allocate.py
	$(VPY) bench/audit.py
	$(VPY) bench/backtest.py $(SHARED)/data
	$(VPY) bench/feedback.py
	$(VPY) bench/dask_scaling.py

fmt:
	cargo fmt

clean:
	rm -rf target $(VENV) out
