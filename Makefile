# arca: `make run` starts the whole dev stack, `make test` runs every test.
# Both install what is missing on a fresh Debian/Ubuntu machine (scripts/deps.sh).

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run test lint unit bench deps build clean

deps:
	@scripts/deps.sh

build: deps
	$(CARGO) build --workspace --bins

run: deps
	@scripts/run.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: deps lint
	$(CARGO) test --workspace --no-fail-fast

bench: deps
	@scripts/bench.sh

clean:
	rm -rf .arca
