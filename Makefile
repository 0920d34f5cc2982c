# Two entry points for a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out

.PHONY: setup demo test bench model lint clean

# Training data of the shipped model: phrase-bank files at weight 1, hand-written files at
# weight 3 (chosen by benchmarks/tune_transfer.py on our own data).
HAND_WEIGHT ?= 3
GENERATED := $(sort $(wildcard data/labelled/train_*.jsonl))
HAND := $(sort $(wildcard data/labelled/hand_*.jsonl))

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

## Retrain the shipped model models/default from data/labelled (deterministic).
model: setup
	$(PY) -m pipeline.cli train $(foreach f,$(GENERATED),--data $(f)) $(foreach f,$(HAND),--data $(f)@$(HAND_WEIGHT)) --out models/default

lint: setup
	$(VENV)/bin/ruff check pipeline tests benchmarks

clean:
	rm -rf $(OUT) .pytest_cache
