# arca: `make run` starts the whole dev stack, `make test` runs every test.
# Both install what is missing on a fresh Debian/Ubuntu machine (scripts/deps.sh).

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run test lint deploy-check bench deps build clean

deps:
	@scripts/deps.sh

build: deps
	$(CARGO) build --workspace --bins

# REPLICAS=N runs N upload and N download services behind the gateway.
REPLICAS ?= 1
run: deps
	@REPLICAS=$(REPLICAS) scripts/run.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The Helm chart: helm lint + helm template validated against the Kubernetes schemas.
deploy-check:
	@scripts/check-deploy.sh

# The binaries first: the lifecycle tests run them as real processes.
test: deps lint deploy-check
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast

bench: deps
	@scripts/bench.sh

clean:
	rm -rf .arca
