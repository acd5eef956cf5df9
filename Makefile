# The two commands: `make run` (the platform on the embedded default) and `make test`;
# `make bench` measures throughput and latency (docs/BENCHMARKS.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)

.PHONY: run test install bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c requirements.lock -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: $(STAMP)
	$(PY) -m launcher $(ARGS)

test: $(STAMP)
	$(PY) -m tests.suite $(PYTEST_ARGS)

# BENCH_ARGS: e.g. --embedded, --repeats 5, --sizes 10000,100000,1000000 (python -m bench -h)
bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache
