#!/usr/bin/env bash
# `make bench`: release builds of arca against a private Redis + s3s-fs on loopback, each
# figure next to a baseline measured in the same run on the same machine:
#   redirect  download redirects (PAT, private project) through the gateway and straight to
#             the download service, against nginx `return 302`, a bare hyper 302 server
#             and the two-hop floor (a bare hyper proxy in front of it)          [wrk]
#   upload    BENCH_UPLOAD_MIB (512) through the gateway against a presigned PUT straight to
#             s3s-fs; CPU seconds of gateway + upload service per GiB; peak RSS
#   archive   one small file from an archive of 100,000 entries: TTFB, S3 GETs, bytes read
#   mixed     200 connections, 15 s: 80% redirects, 10% listings, 10% 16 KiB uploads; each
#             class's latency from the services' histograms; 16 KiB PUTs straight to s3s-fs;
#             the same mix's floor (nginx in front of a bare 302 server and s3s-fs)
#   scale     Redis memory and keys per single-file version (4,000 published); listing
#             latency with BENCH_LIST_FILES (1,000,000) package files in one project
#   zip       a version of 3 x BENCH_ZIP_MIB (256) MiB as one zip: throughput, and the
#             download service's resident memory while it streams
#   retention keep_n_versions over BENCH_RETENTION_VERSIONS (100,000) versions: the preview's
#             latency, the worker's run time, and Redis's slowest PING meanwhile
#   webhooks  publishes for 5 s with and without a hook (what queueing costs a publish), then
#             how fast one fresh worker delivers that backlog to nginx `return 204`
#   cleanup   expired artifacts deleted per second, one worker and two
# BENCH_ONLY=redirect,upload runs some; ARCA_BIN=dir runs other arca binaries (an older
# build, for before/after); BENCH_PROFILE=name records the download service under wrk
# with perf and writes docs/flamegraphs/redirect-<name>.svg.
# Prints one table and writes it as JSON to target/bench/bench-<time>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
if [ "${#need[@]}" -gt 0 ]; then
    echo "bench: installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
ONLY="${BENCH_ONLY:-redirect,upload,archive,zip,mixed,scale,retention,webhooks,cleanup}"
runs() { [[ ",$ONLY," == *",$1,"* ]]; }

echo "building release binaries (the first build takes a while)..."
cargo build --release --quiet --bins -p arca-gateway -p arca-upload -p arca-download -p arca-cleanup -p arca-tests
BIN="${ARCA_BIN:-target/release}"
TOOLS=target/release

ROOT="$PWD/.arca/bench"
rm -rf "$ROOT"; mkdir -p "$ROOT/redis" "$ROOT/s3" "$ROOT/logs" target/bench
RESULTS="$ROOT/results.tsv"; : >"$RESULTS"
# One row of the table: figure, arca, baseline, ratio (arca/baseline, or empty), aim.
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; printf '  %-58s %-30s %-34s %s\n' "$1" "$2" "$3" "${4:+ratio $4}"; }
calc() { python3 -c "print($1)"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port); S3_PORT=$(free_port)
GW=127.0.0.1:$(free_port); UP=127.0.0.1:$(free_port); DOWN=127.0.0.1:$(free_port); CLEAN=127.0.0.1:$(free_port)
export AWS_ACCESS_KEY_ID=bench-key AWS_SECRET_ACCESS_KEY=bench-secret-key-0123456789
export ARCA_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" ARCA_S3_ENDPOINT="http://127.0.0.1:$S3_PORT" ARCA_S3_BUCKET=bench
export ARCA_ADMIN_TOKEN=bench-admin-token-0123456789 ARCA_JWT_SECRET=bench-jwt-secret-0123456789
export ARCA_GATEWAY_LISTEN=$GW ARCA_UPLOAD_LISTEN=$UP ARCA_DOWNLOAD_LISTEN=$DOWN ARCA_CLEANUP_LISTEN=$CLEAN
export ARCA_UPLOAD_URLS="http://$UP" ARCA_DOWNLOAD_URLS="http://$DOWN" ARCA_MAX_FILE_SIZE=8GiB RUST_LOG=warn
export ARCA_MAX_ARTIFACTS_SIZE=3GiB ARCA_AUTH_FAILURE_LIMIT=1000000
# The webhook section's receiver is on loopback.
export ARCA_WEBHOOK_ALLOW_PRIVATE=true
ulimit -n 65536 2>/dev/null || true

pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$ROOT/redis" --save "" --appendonly no >"$ROOT/logs/redis.log" 2>&1 & pids+=($!)
s3s-fs --host 127.0.0.1 --port "$S3_PORT" --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" "$ROOT/s3" >"$ROOT/logs/s3.log" 2>&1 & pids+=($!)
S3_PID=$!
wait_port "$REDIS_PORT"; wait_port "$S3_PORT"
declare -A PID
for svc in upload download cleanup gateway; do "$BIN/arca-$svc" >"$ROOT/logs/$svc.log" 2>&1 & pids+=($!); PID[$svc]=$!; done
wait_port "${GW##*:}"; wait_port "${UP##*:}"; wait_port "${DOWN##*:}"
for _ in $(seq 1 100); do curl -sf "http://$GW/readyz" >/dev/null && break; sleep 0.1; done

API="http://$GW/api/v4"; ADMIN="PRIVATE-TOKEN: $ARCA_ADMIN_TOKEN"
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# A private project (1) and a reporter whose personal access token the reads use.
curl -sf -X POST -H "$ADMIN" "$API/projects?name=bench&visibility=private" >/dev/null
user_id=$(curl -sf -X POST -H "$ADMIN" "$API/users?username=bencher&email=b@example.com" | json_field "['id']")
PAT=$(curl -sf -X POST -H "$ADMIN" -H 'Content-Type: application/json' -d '{"name":"b","scopes":["api"]}' "$API/users/$user_id/personal_access_tokens" | json_field "['token']")
curl -sf -X POST -H "$ADMIN" "$API/projects/1/members?user_id=$user_id&access_level=30" >/dev/null
AUTH="PRIVATE-TOKEN: $PAT"

# wrk at 64 connections for 10 s: "<requests/s> <p99 ms> <non-2xx/3xx>".
measure() {
    local out
    out=$(wrk -t2 -c"${2:-64}" -d"${3:-10}s" --latency ${4:+-s "$4"} -H "$AUTH" "$1")
    python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
m = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
print(f"{rps:.0f} {p99:.2f} {bad.group(1) if bad else 0}")
PY
}
# An nginx in the foreground, one of this run's processes: `start_nginx <name> <workers>
# <what goes inside http {}>`; its config is $ROOT/<name>.conf.
start_nginx() {
    cat >"$ROOT/$1.conf" <<EOF
worker_processes $2;
daemon off;
pid $ROOT/$1.pid;
error_log $ROOT/logs/$1.log;
events { worker_connections 4096; }
http {
    access_log off;
$3
}
EOF
    nginx -c "$ROOT/$1.conf" -p "$ROOT" & pids+=($!)
}
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
rss() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }
s3_gets() { curl -sf "http://$DOWN/metrics" | awk '/^arca_s3_request_duration_seconds_count\{operation="GetObject"\}/ {print $2}' | awk '{s+=$1} END {print s+0}'; }

echo hello | curl -sf -H "$ADMIN" --upload-file - "$API/projects/1/packages/generic/tool/1.0/tool.txt" >/dev/null
FILE_PATH="/api/v4/projects/1/packages/generic/tool/1.0/tool.txt"

if runs redirect; then
    echo; echo "== redirects (wrk -t2 -c64, 10 s each)"
    R302=127.0.0.1:$(free_port); RPROXY=127.0.0.1:$(free_port); NGINX_PORT=$(free_port)
    "$TOOLS/bench-302" "$R302" & pids+=($!)
    "$TOOLS/bench-proxy" "$RPROXY" "http://$R302" & pids+=($!)
    start_nginx nginx 2 "    server { listen 127.0.0.1:$NGINX_PORT; location / { return 302 http://127.0.0.1:9/bucket/key; } }"
    wait_port "${R302##*:}"; wait_port "${RPROXY##*:}"; wait_port "$NGINX_PORT"
    for url in "http://$GW$FILE_PATH" "http://$DOWN$FILE_PATH"; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$url")
        [ "$code" = 302 ] || { echo "expected 302 from $url, got $code" >&2; exit 1; }
    done
    read -r nginx_rps nginx_p99 _ <<<"$(measure "http://127.0.0.1:$NGINX_PORT$FILE_PATH")"
    read -r bare_rps bare_p99 _ <<<"$(measure "http://$R302$FILE_PATH")"
    read -r floor_rps floor_p99 _ <<<"$(measure "http://$RPROXY$FILE_PATH")"
    read -r direct_rps direct_p99 direct_bad <<<"$(measure "http://$DOWN$FILE_PATH")"
    read -r gw_rps gw_p99 gw_bad <<<"$(measure "http://$GW$FILE_PATH")"
    [ "$gw_bad" = 0 ] && [ "$direct_bad" = 0 ] || { echo "redirects answered with errors: $gw_bad / $direct_bad" >&2; exit 1; }
    row "redirect through the gateway (aim >= 0.5x floor, p99 <= 5 ms)" "${gw_rps}/s p99 ${gw_p99} ms" "two-hop floor ${floor_rps}/s p99 ${floor_p99} ms" "$(calc "round($gw_rps/$floor_rps, 3)")" "0.5"
    row "redirect straight to the download service (aim >= 0.2x)" "${direct_rps}/s p99 ${direct_p99} ms" "nginx return 302 ${nginx_rps}/s" "$(calc "round($direct_rps/$nginx_rps, 3)")" "0.2"
    row "  same, against a bare hyper 302 server" "${direct_rps}/s" "bare hyper ${bare_rps}/s p99 ${bare_p99} ms" "$(calc "round($direct_rps/$bare_rps, 3)")" ""
    row "gateway overhead (through / direct)" "${gw_rps}/s" "${direct_rps}/s" "$(calc "round($gw_rps/$direct_rps, 3)")" ""
    redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
    before=$(redis-cli -p "$REDIS_PORT" info stats | awk -F: '/^total_commands_processed/ {print $2+0}')
    for _ in $(seq 1 200); do curl -s -o /dev/null -H "$AUTH" "http://$DOWN$FILE_PATH"; done
    sleep 1
    after=$(redis-cli -p "$REDIS_PORT" info stats | awk -F: '/^total_commands_processed/ {print $2+0}')
    # Minus the INFO itself; the cleanup worker's passes add a few.
    row "Redis commands per redirect, scripts' own included (200 sequential, warm)" "$(calc "round(($after - $before - 1)/200, 2)")" "" "" "1"
    redis-cli -p "$REDIS_PORT" info commandstats | grep -E '^cmdstat_' | sed 's/^/    /' | cut -d, -f1
    if [ -n "${BENCH_PROFILE:-}" ] && command -v perf >/dev/null && command -v inferno-flamegraph >/dev/null; then
        mkdir -p docs/flamegraphs
        wrk -t2 -c64 -d12s -H "$AUTH" "http://$DOWN$FILE_PATH" >/dev/null & wrk_pid=$!
        sleep 1
        perf record -F 499 -g -p "${PID[download]}" -o "$ROOT/perf.data" -- sleep 10 >/dev/null 2>&1
        wait "$wrk_pid" || true
        perf script -i "$ROOT/perf.data" 2>/dev/null | inferno-collapse-perf | inferno-flamegraph --title "download service, redirects ($BENCH_PROFILE)" >"docs/flamegraphs/redirect-$BENCH_PROFILE.svg"
        echo "  flame graph: docs/flamegraphs/redirect-$BENCH_PROFILE.svg"
    fi
fi

if runs upload; then
    MIB="${BENCH_UPLOAD_MIB:-512}"
    echo; echo "== upload ${MIB} MiB"
    head -c "$((MIB * 1024 * 1024))" /dev/urandom >"$ROOT/blob"
    DIRECT_URL=$("$TOOLS/presign-put" "$ARCA_S3_ENDPOINT" bench direct/blob)
    # Each PUT's wall time, and the CPU of curl (bash's `time`) and of s3s-fs around it.
    timed_put() {
        { TIMEFORMAT='%3U %3S'; time curl -sf -o /dev/null -w '%{time_total}' "$@" >"$ROOT/t_put"; } 2>"$ROOT/c_put"
        cat "$ROOT/t_put"
    }
    curl_cpu() { awk '{print $1 + $2}' "$ROOT/c_put"; }
    s3_before=$(cpu_secs "$S3_PID")
    t_direct=$(timed_put --upload-file "$ROOT/blob" "$DIRECT_URL")
    cpu_direct=$(calc "$(curl_cpu) + $(cpu_secs "$S3_PID") - $s3_before")
    s3_before=$(cpu_secs "$S3_PID")
    cpu_before=$(calc "$(cpu_secs "${PID[gateway]}") + $(cpu_secs "${PID[upload]}")")
    t_arca=$(timed_put -H "$AUTH" --upload-file "$ROOT/blob" "$API/projects/1/packages/generic/bench/1.0/blob")
    cpu_after=$(calc "$(cpu_secs "${PID[gateway]}") + $(cpu_secs "${PID[upload]}")")
    cpu_arca=$(calc "$cpu_after - $cpu_before")
    cpu_through=$(calc "$(curl_cpu) + $(cpu_secs "$S3_PID") - $s3_before + $cpu_arca")
    row "upload ${MIB} MiB through the gateway (aim >= 0.7x)" "$(calc "round($MIB/$t_arca)") MiB/s" "presigned PUT to s3s-fs $(calc "round($MIB/$t_direct)") MiB/s" "$(calc "round($t_direct/$t_arca, 3)")" "0.7"
    row "CPU-seconds per GiB, gateway + upload (aim <= 3.3)" "$(calc "round($cpu_arca * 1024 / $MIB, 2)")" "" "" "3.3"
    # Both PUTs share the same two cores with curl and s3s-fs: when both are CPU-bound the
    # throughput ratio cannot pass the ratio of the CPU each costs in all.
    row "CPU-seconds per GiB in all: curl + s3s-fs (+ gateway + upload)" "$(calc "round($cpu_through * 1024 / $MIB, 2)")" "presigned PUT $(calc "round($cpu_direct * 1024 / $MIB, 2)")" "$(calc "round($cpu_direct/$cpu_through, 3)")" ""
    # With every core busy, bytes through arca cannot go faster than the cores divided by
    # what a byte costs them in all: the most this machine allows the ratio above.
    cores=$(nproc)
    ceiling=$(calc "round($cores * $MIB / $cpu_through)")
    row "  ceiling on ${cores} cores: cores / CPU-seconds per byte in all" "${ceiling} MiB/s" "presigned PUT $(calc "round($MIB/$t_direct)") MiB/s" "$(calc "round($ceiling * $t_direct / $MIB, 3)")" ""
    row "peak RSS gateway / upload service (aim <= 64 MiB)" "$(rss "${PID[gateway]}") / $(rss "${PID[upload]}") MiB" "" "" "64"
    rm -f "$ROOT/blob"
fi

if runs archive; then
    ARCHIVE_MIB="${BENCH_ARCHIVE_MIB:-1024}"
    echo; echo "== one file from a ${ARCHIVE_MIB} MiB archive of 100,000 entries"
    python3 - "$ROOT/archive.zip" "$ARCHIVE_MIB" <<'PY'
import os, sys, zipfile
path, mib = sys.argv[1], int(sys.argv[2])
n = 100_000
chunk = os.urandom(mib * 1024 * 1024 // n)
with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
    for i in range(n):
        # Distinct bytes per entry without paying for the whole size in randomness.
        z.writestr(f"dir{i % 100}/file{i}.bin", i.to_bytes(4, "little") + chunk[4:])
    z.writestr("summary.txt", "the one small file we want\n")
PY
    archive_bytes=$(stat -c %s "$ROOT/archive.zip")
    pipeline=$(curl -sf -X POST -H "$ADMIN" "$API/projects/1/pipelines?ref=main" | json_field "['id']")
    job_json=$(curl -sf -X POST -H "$ADMIN" "$API/projects/1/pipelines/$pipeline/jobs?name=build")
    job=$(json_field "['id']" <<<"$job_json"); job_token=$(json_field "['token']" <<<"$job_json")
    curl -sf -o /dev/null -H "JOB-TOKEN: $job_token" --upload-file "$ROOT/archive.zip" -X POST "$API/jobs/$job/artifacts"
    # A fresh download service: nothing of the archive is in its memory.
    kill "${PID[download]}"; wait "${PID[download]}" 2>/dev/null || true
    "$BIN/arca-download" >>"$ROOT/logs/download.log" 2>&1 & pids+=($!); PID[download]=$!
    wait_port "${DOWN##*:}"
    range_bytes() { curl -sf "http://$DOWN/metrics" | awk '/^arca_archive_range_read_bytes_total/ {print $2+0}'; }
    one_file() {
        local b0 g0 t
        b0=$(range_bytes); g0=$(s3_gets)
        t=$(curl -sf -o /dev/null -w '%{time_starttransfer}' -H "$AUTH" "$API/projects/1/jobs/$job/artifacts/summary.txt")
        echo "$(calc "round($t * 1000, 1)") $(( $(s3_gets) - g0 )) $(( $(range_bytes) - b0 ))"
    }
    read -r cold_ms cold_gets cold_bytes <<<"$(one_file)"
    read -r warm_ms warm_gets warm_bytes <<<"$(one_file)"
    t_whole=$(curl -sf -o /dev/null --location -w '%{time_total}' -H "$AUTH" "$API/projects/1/jobs/$job/artifacts")
    row "one file, first read (aim <= 3 GETs, <= 1 MiB, TTFB <= 50 ms)" "TTFB ${cold_ms} ms, ${cold_gets} GETs, ${cold_bytes} B" "whole archive ${archive_bytes} B in ${t_whole}s" "" "50"
    row "one file, second read" "TTFB ${warm_ms} ms, ${warm_gets} GETs, ${warm_bytes} B" "" "" ""
    rm -f "$ROOT/archive.zip"
fi

if runs mixed; then
    echo; echo "== mixed load: 200 connections, 15 s (80% redirects, 10% listings, 10% 16 KiB uploads)"
    # The mix as a wrk script: `mix_lua <file> <Lua before request()> <Lua expression of
    # an upload's path>`, so arca and its floor below run exactly the same mix.
    mix_lua() {
        cat >"$1" <<EOF
local n = 0
local body = string.rep("x", 16384)
$2
function request()
    n = n + 1
    local r = n % 10
    if r == 0 then
        return wrk.format("GET", "/api/v4/projects/1/packages?per_page=20")
    elseif r == 5 then
        return wrk.format("PUT", $3, nil, body)
    end
    return wrk.format("GET", "$FILE_PATH")
end
EOF
    }
    # tid: set per thread by setup(), so upload names never collide.
    mix_lua "$ROOT/mixed.lua" 'function setup(thread) thread:set("tid", tostring(math.random(1, 1000000000))) end' \
        '"/api/v4/projects/1/packages/generic/mixed/" .. tid .. "/f" .. n .. ".bin"'
    scrape() { for a in "$GW" "$UP" "$DOWN"; do curl -sf "http://$a/metrics"; done; }
    scrape >"$ROOT/metrics-before"
    read -r mixed_rps mixed_p99 mixed_bad <<<"$(measure "http://$GW/" 200 15 "$ROOT/mixed.lua")"
    scrape >"$ROOT/metrics-after"
    # The floor of the upload tenth: 16 KiB presigned PUTs straight to s3s-fs, alone on
    # the machine, at the same 200 connections.
    echo 'wrk.method = "PUT"; wrk.body = string.rep("x", 16384)' >"$ROOT/put.lua"
    read -r put_rps put_p99 _ <<<"$(measure "$("$TOOLS/presign-put" "$ARCA_S3_ENDPOINT" bench direct/small)" 200 10 "$ROOT/put.lua")"
    row "mixed load through the gateway (p99 aim <= 50 ms)" "${mixed_rps}/s p99 ${mixed_p99} ms, ${mixed_bad} errors" "16 KiB PUTs straight to s3s-fs ${put_rps}/s p99 ${put_p99} ms" "" "50"
    # The floor of the whole mix: the same wrk script's shape against nothing but a proxy
    # (nginx, the gateway's stand-in) in front of a bare hyper 302 server (redirects and
    # listings) and s3s-fs (the uploads, as presigned PUTs of the same 16 KiB): no auth, no
    # Redis, no hashing, no metadata. What this gives is what the machine and this S3
    # server allow the mix.
    F302=127.0.0.1:$(free_port); FNGINX=$(free_port)
    "$TOOLS/bench-302" "$F302" & pids+=($!)
    start_nginx nginx-floor 2 "    client_body_buffer_size 32k;
    upstream s3 { server 127.0.0.1:$S3_PORT; keepalive 256; }
    upstream bare { server $F302; keepalive 256; }
    server {
        listen 127.0.0.1:$FNGINX;
        location /bench/ { proxy_pass http://s3; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header Host 127.0.0.1:$S3_PORT; }
        location / { proxy_pass http://bare; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
    }"
    wait_port "${F302##*:}"; wait_port "$FNGINX"
    puts=""
    for i in 1 2 3 4 5 6 7 8; do
        url=$("$TOOLS/presign-put" "$ARCA_S3_ENDPOINT" bench "floor/f$i")
        puts+="\"${url#http://*/}\", "
    done
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary x "http://127.0.0.1:$FNGINX/$(echo "$puts" | cut -d'"' -f2)")
    [ "$code" = 200 ] || { echo "the mixed floor's presigned PUT answered $code" >&2; exit 1; }
    mix_lua "$ROOT/mixed-floor.lua" "local puts = { $puts }" '"/" .. puts[math.floor(n / 10) % #puts + 1]'
    read -r floor_rps floor_p99 floor_bad <<<"$(measure "http://127.0.0.1:$FNGINX/" 200 15 "$ROOT/mixed-floor.lua")"
    row "  the same mix's floor (nginx, bare 302 server, s3s-fs)" "${mixed_rps}/s p99 ${mixed_p99} ms" "${floor_rps}/s p99 ${floor_p99} ms, ${floor_bad} errors" "$(calc "round($mixed_rps/$floor_rps, 3)")" ""
    # Per class, from the services' own histograms over the run (bucket bounds: <= means
    # "within that bucket").
    python3 - "$ROOT/metrics-before" "$ROOT/metrics-after" <<'PY' | while IFS=$'\t' read -r figure value; do row "$figure" "$value" "" "" ""; done
import collections, re, sys
def load(path):
    d = collections.defaultdict(dict)
    pat = re.compile(r'(arca_http_request_duration_seconds|arca_s3_request_duration_seconds)_bucket\{(.*)\} (\d+)')
    for line in open(path):
        m = pat.match(line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m[2]))
            le = labels.pop("le")
            d[(m[1], tuple(sorted(labels.items())))][float("inf") if le == "+Inf" else float(le)] = int(m[3])
    return d
before, after = load(sys.argv[1]), load(sys.argv[2])
def quantiles(key):
    cum = [(le, n - before.get(key, {}).get(le, 0)) for le, n in sorted(after[key].items())]
    total = cum[-1][1]
    q = lambda p: next(le for le, n in cum if n >= p * total)
    return f"p50 <= {q(.5) * 1000:g} ms, p99 <= {q(.99) * 1000:g} ms ({total} requests)"
for key in after:
    labels = dict(key[1])
    if key[0] == "arca_s3_request_duration_seconds" and labels.get("operation") == "PutObject":
        print(f"  mixed: S3 PutObject as the upload service saw it\t{quantiles(key)}")
    elif labels.get("service") == "download" and labels.get("method") == "GET" and "generic" in labels["route"]:
        print(f"  mixed: redirects in the download service\t{quantiles(key)}")
    elif labels.get("service") == "download" and labels.get("route", "").endswith("/packages"):
        print(f"  mixed: listings in the download service\t{quantiles(key)}")
    elif labels.get("service") == "upload" and labels.get("method") == "PUT":
        print(f"  mixed: uploads in the upload service\t{quantiles(key)}")
PY
fi

if runs scale; then
    echo; echo "== scale with data"
    VERSIONS=4000
    curl -sf -X POST -H "$ADMIN" "$API/projects?name=scale&visibility=private" >/dev/null
    scale_id=$(curl -sf -H "$ADMIN" "$API/projects/root%2Fscale" | json_field "['id']")
    used() { redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ {print $2+0}'; }
    trail() { redis-cli -p "$REDIS_PORT" memory usage "arca:{p$scale_id}:events" | awk '{print $1+0}'; }
    mem0=$(used); trail0=$(trail); keys0=$(redis-cli -p "$REDIS_PORT" dbsize)
    seq 1 "$VERSIONS" | xargs -P 8 -I{} curl -sf -o /dev/null -H "$ADMIN" --data-binary x -X PUT "$API/projects/$scale_id/packages/generic/app-{}/1.0.{}/app.tar.gz"
    sleep 0.5
    mem1=$(used); trail1=$(trail); keys1=$(redis-cli -p "$REDIS_PORT" dbsize)
    row "Redis per single-file version, with its audit event" "$(( (mem1 - mem0) / VERSIONS )) B, $(calc "round(($keys1 - $keys0)/$VERSIONS, 2)") keys" "" "" ""
    # Each publish adds an audit event; the trail is capped at 10,000 per project, so it
    # stops growing with the data: the package data is what grows with it.
    row "  of which the audit event (trail capped per project)" "$(( (trail1 - trail0) / VERSIONS )) B" "" "" ""
    row "  the package data alone (aim <= 1 KiB)" "$(( (mem1 - mem0 - trail1 + trail0) / VERSIONS )) B" "" "" "1024"
    for k in "pv:app-7/1.0.7" "file:$(redis-cli -p "$REDIS_PORT" hget "arca:{p$scale_id}:pv:app-7/1.0.7" latest)"; do
        echo "    arca:{p$scale_id}:$k: $(redis-cli -p "$REDIS_PORT" object encoding "arca:{p$scale_id}:$k"), $(redis-cli -p "$REDIS_PORT" memory usage "arca:{p$scale_id}:$k") B"
    done
    for k in pkg-refs pkgs:created pkgs:name pkgs:version; do
        echo "    arca:{p$scale_id}:$k: $(redis-cli -p "$REDIS_PORT" object encoding "arca:{p$scale_id}:$k"), $(( $(redis-cli -p "$REDIS_PORT" memory usage "arca:{p$scale_id}:$k" samples 0) / VERSIONS )) B per version"
    done
    # A job's archive: its record, its entries in the project's artifact index and the
    # expiry queue (what the upload adds; the job and pipeline records are the CI's).
    curl -sf -X POST -H "$ADMIN" "$API/projects?name=jobs&visibility=private" >/dev/null
    jobs_id=$(curl -sf -H "$ADMIN" "$API/projects/root%2Fjobs" | json_field "['id']")
    mem0=$(used); keys0=$(redis-cli -p "$REDIS_PORT" dbsize)
    SEED_EXPIRE_IN_DAYS=30 "$TOOLS/seed-expired" "$jobs_id" 1 "$VERSIONS"
    mem1=$(used); keys1=$(redis-cli -p "$REDIS_PORT" dbsize)
    row "Redis per job archive (record + indexes)" "$(( (mem1 - mem0) / VERSIONS )) B, $(calc "round(($keys1 - $keys0)/$VERSIONS, 2)") keys" "" "" ""
    LIST_FILES="${BENCH_LIST_FILES:-1000000}"
    curl -sf -X POST -H "$ADMIN" "$API/projects?name=big&visibility=private" >/dev/null
    big_id=$(curl -sf -H "$ADMIN" "$API/projects/root%2Fbig" | json_field "['id']")
    t0=$(date +%s.%N); "$TOOLS/seed-packages" "$big_id" "$LIST_FILES"; t1=$(date +%s.%N)
    echo "  seeded $LIST_FILES package files in $(calc "round($t1 - $t0, 1)") s; Redis used_memory $(redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory_human:/ {print $2}')"
    list_ms() {
        python3 - "$API/projects/$big_id/packages?$1" "$PAT" <<'PY'
import statistics, sys, time, urllib.request
url, token = sys.argv[1], sys.argv[2]
times = []
for _ in range(20):
    req = urllib.request.Request(url, headers={"PRIVATE-TOKEN": token})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        r.read()
    times.append((time.perf_counter() - t) * 1000)
print(f"{statistics.median(times):.1f}")
PY
    }
    curl -sf -X POST -H "$ADMIN" "$API/projects/$big_id/members?user_id=$user_id&access_level=20" >/dev/null
    row "list page 1 of ${LIST_FILES} files, newest first (median)" "$(list_ms 'per_page=20') ms" "" "" ""
    row "list page 25,000 of ${LIST_FILES} files (median)" "$(list_ms 'per_page=20&page=25000') ms" "" "" ""
    row "list page 1 by name (median)" "$(list_ms 'per_page=20&order_by=name') ms" "" "" ""
fi

if runs zip; then
    ZIP_MIB="${BENCH_ZIP_MIB:-256}"
    echo; echo "== a version as one zip: 3 files of ${ZIP_MIB} MiB, streamed through the gateway"
    head -c "$((ZIP_MIB * 1024 * 1024))" /dev/urandom >"$ROOT/zip-part"
    for f in a b c; do
        curl -sf -H "$ADMIN" --upload-file "$ROOT/zip-part" "$API/projects/1/packages/generic/bundle/1.0/$f.bin" >/dev/null
    done
    rm -f "$ROOT/zip-part"
    zip_pkg=$(curl -sf -H "$ADMIN" "$API/projects/1/packages?package_name=bundle" | json_field "[0]['id']")
    vmrss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$1/status"; }
    rss_before=$(vmrss "${PID[download]}")
    t0=$(date +%s.%N)
    curl -sf -H "$ADMIN" -o "$ROOT/bundle.zip" "$API/projects/1/packages/$zip_pkg/archive" &
    fetcher=$!
    rss_max=$rss_before
    while kill -0 "$fetcher" 2>/dev/null; do
        now=$(vmrss "${PID[download]}"); [ "$now" -gt "$rss_max" ] && rss_max=$now
        sleep 0.05
    done
    wait "$fetcher"
    t1=$(date +%s.%N)
    bytes=$(stat -c %s "$ROOT/bundle.zip")
    unzip -tq "$ROOT/bundle.zip" >/dev/null && ok="unzip -t: ok" || ok="unzip -t: FAILED"
    rm -f "$ROOT/bundle.zip"
    row "version zip of 3 x ${ZIP_MIB} MiB through the gateway" "$(calc "round($bytes / 1048576 / ($t1 - $t0))") MiB/s, ${ok}" "" "" ""
    row "  download service resident memory while streaming it" "${rss_before} -> max ${rss_max} MiB" "" "" ""
fi

if runs retention; then
    RET_VERSIONS="${BENCH_RETENTION_VERSIONS:-100000}"
    echo; echo "== retention: keep_n_versions=10 over ${RET_VERSIONS} versions (1,000 names)"
    kill "${PID[cleanup]}" 2>/dev/null || true   # the run below is timed on its own worker
    curl -sf -X POST -H "$ADMIN" "$API/projects?name=retained&visibility=private" >/dev/null
    ret_id=$(curl -sf -H "$ADMIN" "$API/projects/root%2Fretained" | json_field "['id']")
    "$TOOLS/seed-packages" "$ret_id" "$RET_VERSIONS"
    curl -sf -X PUT -H "$ADMIN" -H 'Content-Type: application/json' -d '{"keep_n_versions": 10}' \
        "$API/projects/$ret_id/packages/settings" >/dev/null
    t0=$(date +%s.%N)
    planned=$(curl -sf -H "$ADMIN" "$API/projects/$ret_id/packages/retention_preview" | json_field ".__len__()")
    t1=$(date +%s.%N)
    row "retention preview over ${RET_VERSIONS} versions" "$(calc "round(($t1 - $t0) * 1000)") ms, ${planned} to move" "" "" ""
    # Redis stays responsive during the run: the slowest PING seen, against an idle one.
    ping_max() {   # seconds, a file whose appearance stops it early
        python3 - "$REDIS_PORT" "$1" "$2" <<'PY'
import os, socket, sys, time
port, seconds, stop = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
worst, end = 0.0, time.time() + seconds
while time.time() < end and not os.path.exists(stop):
    t = time.perf_counter(); s.sendall(b"PING\r\n"); s.recv(64); worst = max(worst, time.perf_counter() - t)
    time.sleep(0.002)
print(f"{worst * 1000:.1f}")
PY
    }
    stopfile="$ROOT/retention-done"; rm -f "$stopfile"
    idle=$(ping_max 2 "$stopfile")
    ARCA_CLEANUP_LISTEN=127.0.0.1:$(free_port) ARCA_CLEANUP_INTERVAL=1000days "$BIN/arca-cleanup" >>"$ROOT/logs/bench-retention.log" 2>&1 &
    ret_worker=$!
    started=$(date +%s.%N)
    ping_max 900 "$stopfile" >"$ROOT/ping-during-retention" &
    pinger=$!
    bin_count() { redis-cli -p "$REDIS_PORT" zcard "arca:{p$ret_id}:recycle-bin"; }
    while [ "$(bin_count)" -lt "$planned" ]; do sleep 0.2; done
    finished=$(date +%s.%N)
    touch "$stopfile"; wait "$pinger" 2>/dev/null || true
    kill "$ret_worker" 2>/dev/null || true; wait "$ret_worker" 2>/dev/null || true
    row "retention run: ${planned} versions to the recycle bin" "$(calc "round($finished - $started, 1)") s, $(calc "round($planned / ($finished - $started))") versions/s" "" "" ""
    row "  slowest Redis PING during the run" "$(cat "$ROOT/ping-during-retention") ms" "idle: ${idle} ms" "" ""
fi

if runs webhooks; then
    echo; echo "== webhooks: publishes without a hook, then with one; one worker delivers them (nginx return 204 receives)"
    HOOK_PORT=$(free_port)
    start_nginx nginx-hook 1 "    server { listen 127.0.0.1:$HOOK_PORT; location / { return 204; } }"
    wait_port "$HOOK_PORT"
    curl -sf -X POST -H "$ADMIN" "$API/projects?name=hooks&visibility=private" >/dev/null
    hooks_id=$(curl -sf -H "$ADMIN" "$API/projects/root%2Fhooks" | json_field "['id']")
    curl -sf -X POST -H "$ADMIN" "$API/projects/$hooks_id/members?user_id=$user_id&access_level=30" >/dev/null
    printf 'wrk.method = "PUT"\nwrk.body = "x"\n' >"$ROOT/put.lua"
    # Publishes for 5 s (16 connections; duplicates are allowed, so each adds a file).
    publish_rate() { read -r rate p99 bad <<<"$(measure "$API/projects/$hooks_id/packages/generic/$1/1.0/f.bin" 16 5 "$ROOT/put.lua")"; echo "$rate $p99 $bad"; }
    queued() { redis-cli -p "$REDIS_PORT" zcard 'arca:{webhooks}:due'; }
    read -r plain_rate plain_p99 plain_bad <<<"$(publish_rate plain)"
    curl -sf -H "$ADMIN" -H 'Content-Type: application/json' \
        -d "{\"url\": \"http://127.0.0.1:$HOOK_PORT/hook\", \"secret\": \"bench-secret\"}" "$API/projects/$hooks_id/hooks" >/dev/null
    # The stack's worker stops, so the deliveries queue up; then one fresh worker drains them.
    kill "${PID[cleanup]}" 2>/dev/null || true
    read -r hooked_rate hooked_p99 hooked_bad <<<"$(publish_rate hooked)"
    backlog=$(queued)
    HOOK_WORKER=127.0.0.1:$(free_port)
    # Timed from the worker's start (its start-up counts against it).
    t4=$(date +%s.%N)
    ARCA_CLEANUP_LISTEN=$HOOK_WORKER ARCA_CLEANUP_INTERVAL=1000days "$BIN/arca-cleanup" >>"$ROOT/logs/bench-hooks.log" 2>&1 &
    hook_worker=$!; pids+=($hook_worker)
    wait_port "${HOOK_WORKER##*:}"
    for _ in $(seq 1 2400); do [ "$(queued)" = 0 ] && break; sleep 0.02; done
    t5=$(date +%s.%N)
    sent=$(curl -sf "http://$HOOK_WORKER/metrics" | awk '/^arca_webhook_deliveries_total\{result="delivered"\}/ {print $2+0}')
    mean_ms=$(curl -sf "http://$HOOK_WORKER/metrics" | awk '/^arca_webhook_delivery_duration_seconds_sum/ {s=$2} /^arca_webhook_delivery_duration_seconds_count/ {c=$2} END {printf "%.1f", c ? s/c*1000 : 0}')
    kill "$hook_worker" 2>/dev/null || true
    row "publishes with a webhook (wrk, 16 connections, 5 s)" "${hooked_rate}/s p99 ${hooked_p99} ms" "without ${plain_rate}/s p99 ${plain_p99} ms" "$(calc "round($hooked_rate/$plain_rate, 3)")" ""
    [ "$plain_bad$hooked_bad" = 00 ] || echo "  (non-2xx answers: $plain_bad without, $hooked_bad with)"
    row "webhook deliveries, one worker (16 in flight), signed" "$(calc "round($sent/($t5 - $t4))")/s: ${sent} of ${backlog} queued, in $(calc "round(($t5 - $t4) * 1000)") ms" "" "" ""
    row "  mean attempt (connect, POST, answer)" "${mean_ms} ms" "" "" ""
fi

if runs cleanup; then
    CLEANUP_COUNT="${BENCH_CLEANUP_COUNT:-10000}"
    echo; echo "== cleanup: ${CLEANUP_COUNT} expired artifacts"
    kill "${PID[cleanup]}" 2>/dev/null || true   # the stack's own worker sits this one out
    expiry_left() { redis-cli -p "$REDIS_PORT" zcount 'arca:{cleanup}:artifact-expiry' -inf "$(date +%s%3N)"; }
    for workers in 1 2; do
        "$TOOLS/seed-expired" 1 $((workers * 1000000)) "$CLEANUP_COUNT"
        before=$(expiry_left)
        started=$(date +%s.%N)
        worker_pids=()
        for _ in $(seq 1 "$workers"); do
            ARCA_CLEANUP_LISTEN=127.0.0.1:$(free_port) ARCA_CLEANUP_INTERVAL=100ms "$BIN/arca-cleanup" >>"$ROOT/logs/bench-cleanup.log" 2>&1 &
            worker_pids+=($!)
        done
        while [ "$(expiry_left)" != 0 ]; do sleep 0.05; done
        took=$(calc "round($(date +%s.%N) - $started, 2)")
        for p in "${worker_pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait "${worker_pids[@]}" 2>/dev/null || true
        row "cleanup, ${workers} worker(s)" "$(calc "round($before/$took)") objects/s" "" "" ""
    done
fi

out="target/bench/bench-$(date -u +%Y%m%dT%H%M%SZ).json"
python3 - "$RESULTS" "$out" "$BIN" <<'PY'
import json, sys
rows = [dict(zip(["figure", "arca", "baseline", "ratio", "aim"], l.rstrip("\n").split("\t"))) for l in open(sys.argv[1])]
json.dump({"binaries": sys.argv[3], "rows": rows}, open(sys.argv[2], "w"), indent=1)
print(f"\n| figure | arca | baseline in the same run | ratio |\n| --- | --- | --- | --- |")
for r in rows:
    print(f"| {r['figure']} | {r['arca']} | {r['baseline']} | {r['ratio']} |")
PY
echo "written: $out"
