# Townsquare: `make run` (set up, ingest the sample, serve API + page) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
INDEX ?= var/sample-index
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup browser index run test lint bench bench-setup bench-peers clean

setup: $(VENV)/.installed

# torch first and pinned: the CPU build of 2.13.0 lies on this machine's disk; an unpinned
# torch would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

# Debian's Chromium for the real-browser test (no browser downloads: there is no internet).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

index: setup
	@test -f $(INDEX)/CURRENT || $(VENV)/bin/townsquare ingest corpus/sample --index $(INDEX)

run: setup index
	@INDEX=$(INDEX) VENV=$(VENV) scripts/run.sh

test: setup browser
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy app ingest retrieval ui

bench: setup
	$(PY) bench/ingest.py
	$(PY) bench/quality.py
	$(PY) bench/latency.py

# Peers (txtai, LangChain, bm25s) and plots: their own dependency group, never needed by
# the product or `make test`.
bench-setup: setup
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"

# quality and index builds under nice; timed parts hold the machine-wide bench lock
# (peers_latency.py takes it itself, around its timed queries only)
BENCH_LOCK ?= /work/bench.lock
bench-peers: bench-setup
	nice -n 19 $(PY) bench/peers.py
	nice -n 19 $(PY) bench/peers_latency.py --chunks 10000 --lock $(BENCH_LOCK)
	nice -n 19 $(PY) bench/peers_latency.py --chunks 100000 --lock $(BENCH_LOCK)
	flock $(BENCH_LOCK) $(PY) bench/peers.py --datasets "" --ingest-docs 1500
	$(PY) bench/plots.py

clean:
	rm -rf var .pytest_cache
