#!/usr/bin/env bash
# Installs what `make run` and `make test` need and a fresh machine lacks:
# redis-server and curl from Debian, s3s-fs (a SigV4-checking S3 server) from crates.io,
# schemathesis from PyPI, Chromium (Debian) and playwright-core (npm) for the console test.
set -euo pipefail
cd "$(dirname "$0")/.."

S3S_FS_VERSION=0.14.1
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# The web console's end-to-end test: Debian's Chromium, driven by playwright-core (npm).
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "deps: installing ${missing[*]} (apt-get)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v s3s-fs >/dev/null 2>&1; then
    echo "deps: installing s3s-fs $S3S_FS_VERSION (cargo install, about 3 minutes)"
    cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked --quiet
fi

if [ ! -d tests/console/node_modules/playwright-core ]; then
    echo "deps: installing playwright-core (npm ci in tests/console)"
    (cd tests/console && npm ci --no-audit --no-fund --silent)
fi

# schemathesis fuzzes the live API against its OpenAPI description (tests/tests/it/openapi.rs).
SCHEMATHESIS_VERSION=4.32.5
if ! command -v st >/dev/null 2>&1 || ! st --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "deps: installing schemathesis $SCHEMATHESIS_VERSION (pip)"
    python3 -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component"
    fi
done
