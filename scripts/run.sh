#!/usr/bin/env bash
# The dev stack: Redis and an S3 server (s3s-fs) on loopback with data under ./.arca/,
# then arca's four services. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

ROOT="$PWD/.arca"
mkdir -p "$ROOT/redis" "$ROOT/s3" "$ROOT/logs"

REDIS_PORT="${ARCA_REDIS_PORT:-6390}"
S3_PORT="${ARCA_S3_PORT:-9000}"
export ARCA_GATEWAY_LISTEN="${ARCA_GATEWAY_LISTEN:-127.0.0.1:8080}"
export ARCA_UPLOAD_LISTEN="${ARCA_UPLOAD_LISTEN:-127.0.0.1:8081}"
export ARCA_DOWNLOAD_LISTEN="${ARCA_DOWNLOAD_LISTEN:-127.0.0.1:8082}"
export ARCA_CLEANUP_LISTEN="${ARCA_CLEANUP_LISTEN:-127.0.0.1:8083}"
# REPLICAS=N runs N upload and N download services (extra ones on port + 100 * i),
# balanced by the gateway.
REPLICAS="${REPLICAS:-1}"
replica_listen() { local listen="$1" i="$2"; echo "${listen%:*}:$(( ${listen##*:} + 100 * i ))"; }
upload_urls=(); download_urls=()
for i in $(seq 0 $((REPLICAS - 1))); do
    upload_urls+=("http://$(replica_listen "$ARCA_UPLOAD_LISTEN" "$i")")
    download_urls+=("http://$(replica_listen "$ARCA_DOWNLOAD_LISTEN" "$i")")
done
export ARCA_UPLOAD_URLS="${ARCA_UPLOAD_URLS:-$(IFS=,; echo "${upload_urls[*]}")}"
export ARCA_DOWNLOAD_URLS="${ARCA_DOWNLOAD_URLS:-$(IFS=,; echo "${download_urls[*]}")}"
export ARCA_REDIS_URL="${ARCA_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT}"
export ARCA_S3_ENDPOINT="${ARCA_S3_ENDPOINT:-http://127.0.0.1:$S3_PORT}"
export ARCA_S3_BUCKET="${ARCA_S3_BUCKET:-arca}"
export ARCA_S3_REGION="${ARCA_S3_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-arca-dev}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-arca-dev-secret-key}"
export ARCA_CLEANUP_INTERVAL="${ARCA_CLEANUP_INTERVAL:-5s}"

# Secrets are made once per dev stack and kept, so a restart keeps the same tokens.
secret() {
    local file="$ROOT/$1"
    [ -s "$file" ] || head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$file"
    cat "$file"
}
if [ -z "${ARCA_ADMIN_TOKEN:-}" ]; then
    [ -s "$ROOT/admin-token" ] || echo "arca-admin-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" > "$ROOT/admin-token"
    ARCA_ADMIN_TOKEN=$(cat "$ROOT/admin-token")
fi
export ARCA_ADMIN_TOKEN
export ARCA_JWT_SECRET="${ARCA_JWT_SECRET:-$(secret jwt-secret)}"

echo "building arca (dev profile)..."
cargo build --workspace --bins --quiet

pids=()
cleanup() {
    trap - INT TERM EXIT
    echo
    echo "stopping arca..."
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

wait_port() {
    local port="$1" what="$2"
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$what did not start on port $port; see $ROOT/logs/" >&2
    exit 1
}

# Redis with an append-only file, so acknowledged writes survive a restart.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$ROOT/redis" --appendonly yes \
    --save "" >"$ROOT/logs/redis.log" 2>&1 &
pids+=($!)
wait_port "$REDIS_PORT" redis-server

s3s-fs --host 127.0.0.1 --port "$S3_PORT" --access-key "$AWS_ACCESS_KEY_ID" \
    --secret-key "$AWS_SECRET_ACCESS_KEY" "$ROOT/s3" >"$ROOT/logs/s3.log" 2>&1 &
pids+=($!)
wait_port "$S3_PORT" s3s-fs

for i in $(seq 0 $((REPLICAS - 1))); do
    ARCA_UPLOAD_LISTEN=$(replica_listen "$ARCA_UPLOAD_LISTEN" "$i") target/debug/arca-upload >"$ROOT/logs/upload-$i.log" 2>&1 &
    pids+=($!)
    ARCA_DOWNLOAD_LISTEN=$(replica_listen "$ARCA_DOWNLOAD_LISTEN" "$i") target/debug/arca-download >"$ROOT/logs/download-$i.log" 2>&1 &
    pids+=($!)
done
for svc in cleanup gateway; do
    "target/debug/arca-$svc" >"$ROOT/logs/$svc.log" 2>&1 &
    pids+=($!)
done
wait_port "${ARCA_GATEWAY_LISTEN##*:}" arca-gateway
for listen in "$ARCA_UPLOAD_LISTEN" "$ARCA_DOWNLOAD_LISTEN" "$ARCA_CLEANUP_LISTEN"; do
    wait_port "${listen##*:}" "arca service on $listen"
done

cat <<INFO

arca is running.
  gateway      http://$ARCA_GATEWAY_LISTEN   (upload: $ARCA_UPLOAD_URLS; download: $ARCA_DOWNLOAD_URLS)
  admin token  $ARCA_ADMIN_TOKEN
  S3 (s3s-fs)  $ARCA_S3_ENDPOINT  bucket $ARCA_S3_BUCKET  keys $AWS_ACCESS_KEY_ID / (AWS_SECRET_ACCESS_KEY)
  Redis        $ARCA_REDIS_URL
  logs         $ROOT/logs/

Try:  curl -s -H "PRIVATE-TOKEN: $ARCA_ADMIN_TOKEN" http://$ARCA_GATEWAY_LISTEN/api/v4/projects
Ctrl-C stops everything.
INFO

# Exit (and stop the rest) as soon as any process dies.
wait -n "${pids[@]}" || true
echo "a process of the stack exited; see $ROOT/logs/" >&2
