# Two commands for a new user: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test browser lint bench bench-100k clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(PY) cookbook/quickstart.py

# The dashboard's browser test drives Debian's chromium (apt-get, only when it is missing).
browser:
	bash scripts/install_browser.sh

test: $(STAMP) browser
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# memkit vs mem0 (benchmarks/perf.py) at N = 1k and 10k; bench-100k adds the slow 100k size.
$(VENV)/.bench-extra: $(STAMP)
	$(PY) -m pip install --quiet -e '.[all,dev,bench]'
	touch $@

bench: $(VENV)/.bench-extra
	bash benchmarks/peer_env.sh
	$(PY) benchmarks/perf.py
	$(PY) benchmarks/locomo.py
	$(PY) benchmarks/golden.py
	$(PY) benchmarks/add_latency.py

bench-100k: $(VENV)/.bench-extra
	bash benchmarks/peer_env.sh
	$(PY) benchmarks/perf.py --sizes 100000

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
