#!/usr/bin/env bash
# Installs what a fresh machine lacks.
#   scripts/deps.sh run    what `make run` needs: redis-server and curl (Debian) and s3s-fs
#                          (a SigV4-checking S3 server, crates.io)
#   scripts/deps.sh test   that, and what only the tests need (`make test`): Chromium (Debian)
#                          and playwright-core (npm) for the console test, @gitbeaker/rest
#                          (npm), schemathesis and python-gitlab (PyPI), rustfmt and clippy
set -euo pipefail
MODE="${1:-test}"
case "$MODE" in run | test) ;; *) echo "usage: $0 run|test" >&2; exit 2 ;; esac
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
if [ "$MODE" = test ]; then
    # The web console's end-to-end test: Debian's Chromium, driven by playwright-core (npm).
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    # `unzip -t` checks the version archives arca streams.
    command -v unzip >/dev/null 2>&1 || missing+=(unzip)
    command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "deps: installing ${missing[*]} (apt-get)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v s3s-fs >/dev/null 2>&1; then
    echo "deps: installing s3s-fs $S3S_FS_VERSION (cargo install, about 3 minutes)"
    cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked --quiet
fi

if [ "$MODE" = run ]; then
    exit 0
fi

if [ ! -d tests/console/node_modules/playwright-core ]; then
    echo "deps: installing playwright-core (npm ci in tests/console)"
    (cd tests/console && npm ci --no-audit --no-fund --silent)
fi
# @gitbeaker/rest, a GitLab API client, runs its recipes against a live stack (clients.rs).
if [ ! -d tests/clients/node_modules/@gitbeaker/rest ]; then
    echo "deps: installing @gitbeaker/rest (npm ci in tests/clients)"
    (cd tests/clients && npm ci --no-audit --no-fund --silent)
fi

# schemathesis fuzzes the live API against its OpenAPI description (tests/tests/it/openapi.rs).
SCHEMATHESIS_VERSION=4.32.5
if ! command -v st >/dev/null 2>&1 || ! st --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "deps: installing schemathesis $SCHEMATHESIS_VERSION (pip)"
    python3 -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

# python-gitlab runs its documented recipes against a live stack (tests/tests/it/clients.rs).
PYTHON_GITLAB_VERSION=8.6.0
if ! python3 -c "import gitlab, sys; sys.exit(gitlab.__version__ != '$PYTHON_GITLAB_VERSION')" 2>/dev/null; then
    echo "deps: installing python-gitlab $PYTHON_GITLAB_VERSION (pip)"
    python3 -m pip install -q "python-gitlab==$PYTHON_GITLAB_VERSION"
fi

for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component"
    fi
done
