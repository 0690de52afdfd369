#!/usr/bin/env bash
# `make bench`: release builds of arca against a private Redis + s3s-fs, measured against
# baselines taken in the same run on the same servers.
#   1. Upload 1 GiB through the gateway vs. a direct presigned PUT to the S3 server;
#      peak RSS of the gateway and the upload service.
#   2. Download redirects per second at 64 connections, through the gateway and directly
#      against the download service (wrk), with p99 latency.
#   3. Time to first byte of one small file from a 2 GiB job-artifacts archive of 100,000
#      entries, against downloading the whole archive, and the bytes read from S3 for each.
#   4. Objects the cleanup worker deletes per second, 10,000 expired artifacts, with one
#      worker and with two.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

command -v wrk >/dev/null 2>&1 || { echo "bench: installing wrk"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

BENCH_SIZE_MIB="${BENCH_SIZE_MIB:-1024}"
ROOT="$PWD/.arca/bench"
rm -rf "$ROOT"; mkdir -p "$ROOT/redis" "$ROOT/s3" "$ROOT/logs"

echo "building release binaries (first build takes a while)..."
cargo build --release --quiet --bins -p arca-gateway -p arca-upload -p arca-download -p arca-cleanup -p arca-tests

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port); S3_PORT=$(free_port)
GW=127.0.0.1:$(free_port); UP=127.0.0.1:$(free_port); DOWN=127.0.0.1:$(free_port); CLEAN=127.0.0.1:$(free_port)
export AWS_ACCESS_KEY_ID=bench-key AWS_SECRET_ACCESS_KEY=bench-secret-key-0123456789
export ARCA_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" ARCA_S3_ENDPOINT="http://127.0.0.1:$S3_PORT" ARCA_S3_BUCKET=bench
export ARCA_ADMIN_TOKEN=bench-admin-token-0123456789 ARCA_JWT_SECRET=bench-jwt-secret-0123456789
export ARCA_GATEWAY_LISTEN=$GW ARCA_UPLOAD_LISTEN=$UP ARCA_DOWNLOAD_LISTEN=$DOWN ARCA_CLEANUP_LISTEN=$CLEAN
export ARCA_UPLOAD_URLS="http://$UP" ARCA_DOWNLOAD_URLS="http://$DOWN" ARCA_MAX_FILE_SIZE=8GiB RUST_LOG=warn
export ARCA_MAX_ARTIFACTS_SIZE=3GiB

pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$ROOT/redis" --save "" --appendonly no >"$ROOT/logs/redis.log" 2>&1 & pids+=($!)
s3s-fs --host 127.0.0.1 --port "$S3_PORT" --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" "$ROOT/s3" >"$ROOT/logs/s3.log" 2>&1 & pids+=($!)
wait_port "$REDIS_PORT"; wait_port "$S3_PORT"
for svc in upload download cleanup gateway; do target/release/arca-$svc >"$ROOT/logs/$svc.log" 2>&1 & pids+=($!); done
UPLOAD_PID=${pids[2]}; GATEWAY_PID=${pids[5]}
wait_port "${GW##*:}"; wait_port "${UP##*:}"; wait_port "${DOWN##*:}"
for _ in $(seq 1 100); do curl -sf "http://$GW/readyz" >/dev/null && break; sleep 0.1; done

API="http://$GW/api/v4"; AUTH="PRIVATE-TOKEN: $ARCA_ADMIN_TOKEN"
curl -sf -X POST -H "$AUTH" "$API/projects?name=bench&visibility=public" >/dev/null

rss() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }
mibps() { python3 -c "print(f'{$BENCH_SIZE_MIB/$1:.0f}')"; }

echo "generating ${BENCH_SIZE_MIB} MiB of random data..."
head -c "$((BENCH_SIZE_MIB * 1024 * 1024))" /dev/urandom > "$ROOT/blob"

echo
echo "== 1. upload ${BENCH_SIZE_MIB} MiB"
DIRECT_URL=$(target/release/presign-put "$ARCA_S3_ENDPOINT" bench direct/blob)
t_direct=$(curl -sf -o /dev/null -w '%{time_total}' --upload-file "$ROOT/blob" "$DIRECT_URL")
rss_gw_before=$(rss "$GATEWAY_PID"); rss_up_before=$(rss "$UPLOAD_PID")
t_arca=$(curl -sf -o /dev/null -w '%{time_total}' -H "$AUTH" --upload-file "$ROOT/blob" "$API/projects/1/packages/generic/bench/1.0/blob")
ratio=$(python3 -c "print(f'{$t_direct/$t_arca:.2f}')")
echo "direct presigned PUT to s3s-fs : ${t_direct}s  ($(mibps "$t_direct") MiB/s)"
echo "through gateway + upload       : ${t_arca}s  ($(mibps "$t_arca") MiB/s)"
echo "throughput ratio arca/direct   : $ratio  (aim >= 0.8)"
echo "peak RSS gateway               : $(rss "$GATEWAY_PID") MiB (before upload ${rss_gw_before} MiB; aim < 64)"
echo "peak RSS upload service        : $(rss "$UPLOAD_PID") MiB (before upload ${rss_up_before} MiB; aim < 64)"
rm -f "$ROOT/blob"

echo
echo "== 2. download redirects, 64 connections, 10 s each"
echo hello | curl -sf -H "$AUTH" --upload-file - "$API/projects/1/packages/generic/tool/1.0/tool.txt" >/dev/null
path="/api/v4/projects/1/packages/generic/tool/1.0/tool.txt"
for target in "gateway http://$GW$path" "download-direct http://$DOWN$path"; do
    name=${target%% *}; url=${target#* }
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url"); [ "$code" = 302 ] || { echo "expected 302 from $url, got $code" >&2; exit 1; }
    out=$(wrk -t2 -c64 -d10s --latency "$url")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    echo "$name: ${rps} redirects/s, p99 ${p99}, error responses ${non2xx:-0}"
done

echo
ARCHIVE_MIB="${BENCH_ARCHIVE_MIB:-2048}"
echo "== 3. one file from a ${ARCHIVE_MIB} MiB archive of 100,000 entries"
python3 - "$ROOT/archive.zip" "$ARCHIVE_MIB" <<'PY'
import os, sys, zipfile
path, mib = sys.argv[1], int(sys.argv[2])
n = 100_000
size = mib * 1024 * 1024 // n
chunk = os.urandom(size)
with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
    for i in range(n):
        # Distinct bytes per entry without paying for 2 GiB of randomness.
        z.writestr(f"dir{i % 100}/file{i}.bin", i.to_bytes(4, "little") + chunk[4:])
    z.writestr("summary.txt", "the one small file we want\n")
PY
archive_bytes=$(stat -c %s "$ROOT/archive.zip")
pipeline=$(curl -sf -X POST -H "$AUTH" "$API/projects/1/pipelines?ref=main" | grep -o '"id":[0-9]*' | head -n1 | cut -d: -f2)
job_json=$(curl -sf -X POST -H "$AUTH" "$API/projects/1/pipelines/$pipeline/jobs?name=build")
job=$(grep -o '"id":[0-9]*' <<<"$job_json" | head -n1 | cut -d: -f2)
job_token=$(sed -E 's/.*"token":"([^"]+)".*/\1/' <<<"$job_json")
curl -sf -o /dev/null -H "JOB-TOKEN: $job_token" --upload-file "$ROOT/archive.zip" -X POST "$API/jobs/$job/artifacts"
range_bytes() { curl -sf "http://$DOWN/metrics" | awk '/^arca_archive_range_read_bytes_total/ {print $2}'; }
one_file() {
    local before after t
    before=$(range_bytes)
    t=$(curl -sf -o /dev/null -w '%{time_starttransfer}' -H "$AUTH" "$API/projects/1/jobs/$job/artifacts/summary.txt")
    after=$(range_bytes)
    echo "$1: time to first byte ${t}s, bytes read from S3 $((${after%.*} - ${before%.*}))"
}
one_file "one file, cold cache (central directory read) "
one_file "one file, warm cache                          "
t_whole=$(curl -sf -o /dev/null --location -w '%{time_starttransfer} %{time_total}' -H "$AUTH" "$API/projects/1/jobs/$job/artifacts")
echo "whole archive via redirect: time to first byte ${t_whole% *}s, complete ${t_whole#* }s, bytes read from S3 $archive_bytes"
rm -f "$ROOT/archive.zip"

echo
CLEANUP_COUNT="${BENCH_CLEANUP_COUNT:-10000}"
echo "== 4. cleanup: ${CLEANUP_COUNT} expired artifacts"
kill "${pids[4]}" 2>/dev/null || true   # the stack's own worker sits this one out
# Artifacts whose expiry is due (others, like section 3's archive, are not the worker's yet).
expiry_left() { redis-cli -p "$REDIS_PORT" zcount 'arca:{cleanup}:artifact-expiry' -inf "$(date +%s%3N)"; }
for workers in 1 2; do
    target/release/seed-expired 1 $((workers * 1000000)) "$CLEANUP_COUNT"
    before=$(expiry_left)
    started=$(date +%s.%N)
    worker_pids=()
    for _ in $(seq 1 "$workers"); do
        ARCA_CLEANUP_LISTEN=127.0.0.1:$(free_port) ARCA_CLEANUP_INTERVAL=100ms target/release/arca-cleanup >>"$ROOT/logs/bench-cleanup.log" 2>&1 &
        worker_pids+=($!)
    done
    while [ "$(expiry_left)" != 0 ]; do sleep 0.05; done
    took=$(python3 -c "import time; print(f'{time.time() - $started:.2f}')")
    for p in "${worker_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait "${worker_pids[@]}" 2>/dev/null || true
    echo "$workers worker(s): ${before} expired artifacts deleted in ${took}s = $(python3 -c "print(f'{$before/$took:.0f}')") objects/s"
done
