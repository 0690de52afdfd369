#!/usr/bin/env bash
# Runs every cargo fuzz target for a bounded time (default 20 s each; `make fuzz
# FUZZ_SECONDS=600` for a longer run). The targets build arca-core only (validators,
# expire_in, the zip checks and index), so the instrumented build takes about a minute.
# cargo fuzz needs nightly-only compiler flags; RUSTC_BOOTSTRAP=1 lets the machine's stable
# toolchain take them (no other toolchain can be fetched here).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${1:-20}"
CARGO_FUZZ_VERSION=0.13.2
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION (cargo install, about a minute)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet
fi

export RUSTC_BOOTSTRAP=1
cd fuzz
for target in $(cargo fuzz list); do
    mkdir -p "corpus/$target"
    echo "fuzz: $target for ${SECONDS_EACH}s"
    # corpus/ grows from run to run (ignored by git); seeds/ holds the hand-made starting points.
    log=$(mktemp)
    if ! cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$SECONDS_EACH" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "fuzz: $target failed; a crashing input is kept under fuzz/artifacts/$target" >&2
        exit 1
    fi
    grep -E "^Done|^stat::peak_rss" "$log"
    rm -f "$log"
done
echo "fuzz: ok"
