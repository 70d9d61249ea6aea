# The README's commands. Each target creates .venv and installs what it needs on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all lint bench broker clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m producer demo

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

test-all: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check gochan producer tests benchmarks
	$(BIN)/mypy

# Also needs the bench extra (confluent-kafka); peers.py builds its sarama peer with Go if
# `go` is on PATH (else it skips it). peers.py runs the peers comparison and the scaling sweep.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/channels.py
	$(BIN)/python benchmarks/aio.py
	$(BIN)/python benchmarks/producer.py
	$(BIN)/python benchmarks/peers.py

broker: $(STAMP)
	$(BIN)/python -m producer broker

clean:
	rm -rf $(VENV) .cache
