# arca: `make run` starts the whole dev stack, `make test` runs every test.
# Both install what is missing on a fresh Debian/Ubuntu machine (scripts/deps.sh): `make run`
# only what running needs, `make test` also the test tools (Chromium, schemathesis, ...).

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run test lint deploy-check bench deps deps-run build clean fuzz

# What running needs (Redis, an S3 server); `deps` adds what only the tests need.
deps-run:
	@scripts/deps.sh run

deps:
	@scripts/deps.sh test

build: deps-run
	$(CARGO) build --workspace --bins

# REPLICAS=N runs N upload and N download services behind the gateway.
REPLICAS ?= 1
run: deps-run
	@REPLICAS=$(REPLICAS) scripts/run.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The Helm chart: helm lint + helm template validated against the Kubernetes schemas.
deploy-check:
	@scripts/check-deploy.sh

# The binaries first: the lifecycle tests run them as real processes.
test: deps lint deploy-check
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast

# Every cargo fuzz target for FUZZ_SECONDS each (CI: 20).
FUZZ_SECONDS ?= 20
fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS)

bench: deps-run
	@scripts/bench.sh

clean:
	rm -rf .arca
