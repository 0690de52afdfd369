# arca: `make run` starts the whole dev stack, `make test` runs every test.
# Both install what is missing on a fresh Debian/Ubuntu machine (scripts/deps.sh).

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run test lint deploy-check bench deps build clean fuzz

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
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml --check
	$(CARGO) clippy -p arca-shared --no-default-features --all-targets -- -D warnings
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

bench: deps
	@scripts/bench.sh

clean:
	rm -rf .arca
