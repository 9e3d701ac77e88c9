#!/usr/bin/env bash
# Profiles attache under load: node --cpu-prof while wrk drives GET then POST at c=16, then prints the top
# self-time functions and the time per package/module (bench/lib/top.mjs). Bounded: wrk -d, then SIGTERM.
# Usage: bench/profile.sh [SECONDS_PER_METHOD (8)] [extra attache flags…]   (profiles land in .bench-out/prof/)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}; shift || true
out=.bench-out/prof; mkdir -p "$out"; rm -f "$out"/*.cpuprofile
node bench/backend.mjs > "$out/backend.log" 2>&1 & bpid=$!
trap 'kill $bpid 2>/dev/null || true; [ -n "${apid:-}" ] && kill $apid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening "$out/backend.log" && break; sleep 0.1; done
bport=$(sed -n 's/listening //p' "$out/backend.log")
port=$((20000 + RANDOM % 20000)); admin=$((port + 1))
node --cpu-prof --cpu-prof-dir="$out" ${PROF_NODE_FLAGS:-} dist/cli.js --protos bench/protos --mappings bench/bench.mapping.yaml \
  --upstream "127.0.0.1:$bport" --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" --log-level warn "$@" & apid=$!
for _ in $(seq 100); do curl -sf "127.0.0.1:$admin/readyz" >/dev/null && break; sleep 0.1; done
wrk -t1 -c16 -d"${secs}s" "http://127.0.0.1:$port/v1/payments/pay_01HZX3K9Q7V2M4N8R6T0W5Y1AB?include_items=true" | grep -E "Requests/sec|Latency"
BENCH_BODY_FILE=bench/fixtures/create-payment.json wrk -t1 -c16 -d"${secs}s" -s bench/lib/wrk.lua "http://127.0.0.1:$port/v1/payments" | grep -E "Requests/sec|BENCHJSON"
kill -TERM $apid; wait $apid || true; apid=
node bench/lib/top.mjs "$out"/*.cpuprofile
