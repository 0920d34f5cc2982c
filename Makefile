# Two entry points for a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out

.PHONY: setup demo test bench lint clean

setup:
	@bash scripts/bootstrap.sh

## Set up, then run the nightly job on the shipped sample (night by night over its weeks) and write a report.
demo: setup
	$(PY) -m pipeline.cli demo --out $(OUT)

## Set up (venv + Debian packages the tests need), then run the whole test suite.
test: setup
	@bash scripts/system-deps.sh
	$(PY) -m pytest -q

## Benchmarks (not part of the tests); writes benchmarks/results.md.
bench: setup
	$(PY) -m benchmarks.run_all

lint: setup
	$(VENV)/bin/ruff check pipeline tests benchmarks

clean:
	rm -rf $(OUT) .pytest_cache
