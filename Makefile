# The README's commands. Each target creates .venv and installs what it needs on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# gochan's hot modules: the editable install compiles them (mypyc, setup.py) where a C
# compiler exists, so editing one re-runs the install (else gochan runs the pure build
# and warns that the compiled one is stale).
HOT := $(addprefix gochan/,_waiter.py _registry.py _chan.py _select.py _aio.py _native/_lock.c)

.PHONY: demo test test-all test-pure test-no-accel lint bench broker browser pictures clean

# editable_mode=compat: a plain path in a .pth file instead of setuptools' import hook,
# so that mypy and other static tools find gochan and producer in this environment as
# they do in a normal install.
EDITABLE := --config-settings editable_mode=compat

$(STAMP): pyproject.toml setup.py Makefile $(HOT)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(EDITABLE) -e '.[dev,accel,compression,prometheus]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m producer demo

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

test-all: $(STAMP)
	$(BIN)/python -m pytest

# The gochan suite on the pure-Python build (the other targets run the compiled one
# where it could be built; gochan.build_info() says which).
test-pure: $(STAMP)
	GOCHAN_PURE=1 $(BIN)/python -m pytest tests/gochan tests/test_exports.py

# The producer's non-slow tests that write batches, with kafka-python's pure-Python record
# builder (the fallback when the `accel` extra is not installed). Config, partitioner,
# mock, harness and CLI tests do not reach the builder and are left out (CI time).
NO_ACCEL_TESTS := tests/producer/test_async_pipeline.py tests/producer/test_sync_producer.py \
	tests/producer/test_kafka_adjustments.py \
	tests/producer/functional/test_broker_roundtrip.py \
	$(wildcard tests/producer/functional/test_producer_*.py) tests/producer/reliability
test-no-accel: $(STAMP)
	PRODUCER_NO_ACCELERATOR=1 $(BIN)/python -m pytest -m "not slow" $(NO_ACCEL_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check gochan producer tests benchmarks docs setup.py
	$(BIN)/mypy

# Also needs the bench extra (confluent-kafka, pygolang); peers.py builds its sarama peer with Go if
# `go` is on PATH (else it skips it). peers.py runs the peers comparison and the scaling sweep.
bench: $(STAMP)
	$(BIN)/pip install --quiet $(EDITABLE) --build-constraint benchmarks/build-constraints.txt -e '.[dev,accel,compression,prometheus,bench]'
	$(BIN)/python benchmarks/channels.py
	$(BIN)/python benchmarks/aio.py
	$(BIN)/python benchmarks/producer.py
	$(BIN)/python benchmarks/peers.py

broker: $(STAMP)
	$(BIN)/python -m producer broker

# Headless Chromium and its WebDriver (Debian's packages) for the browser tests of the
# trace timeline and the wait-for graph; nothing to do when both are on PATH.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
	  echo "chromium and chromedriver already installed"; \
	else \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	fi

# The README's pictures (docs/*.png): demos traced and graphed, shot in headless Chromium.
pictures: $(STAMP) browser
	$(BIN)/python docs/make_pictures.py

clean:
	rm -rf $(VENV) .cache build gochan/_native/*.so
