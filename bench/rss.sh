#!/usr/bin/env bash
# Peak RSS (VmHWM) and CPU per request of attache under wrk c=64 (GET then POST, SECONDS each) for several
# node flag / env settings, one after another against one bench/backend.mjs. Usage: bench/rss.sh [SECONDS (4)]
# Each line of CONFIGS is "label|env assignments|node flags"; CONC=16 measures another concurrency.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-4}
conc=${CONC:-64}
out=.bench-out/rss; mkdir -p "$out"
node bench/backend.mjs > "$out/backend.log" 2>&1 & bpid=$!
trap 'kill $bpid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening "$out/backend.log" && break; sleep 0.1; done
bport=$(sed -n 's/listening //p' "$out/backend.log")
CONFIGS=${CONFIGS:-"default||
semi-space 4 MiB||--max-semi-space-size=4
semi-space 2 MiB||--max-semi-space-size=2
semi 2 + MALLOC_ARENA_MAX=2|MALLOC_ARENA_MAX=2|--max-semi-space-size=2
semi 2 + old 64 + arenas 2|MALLOC_ARENA_MAX=2|--max-semi-space-size=2 --max-old-space-size=64"}
printf '| setting | RSS ready MiB | peak RSS MiB (c=%s) | CPU µs/req | req/s |\n|---|---:|---:|---:|---:|\n' "$conc"
while IFS='|' read -r label envs flags; do
  port=$((20000 + RANDOM % 20000)); admin=$((port + 1))
  env $envs node $flags dist/cli.js --protos bench/protos --mappings bench/bench.mapping.yaml --upstream "127.0.0.1:$bport" \
    --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" --log-level warn & apid=$!
  for _ in $(seq 100); do curl -sf "127.0.0.1:$admin/readyz" >/dev/null && break; sleep 0.1; done
  ready=$(awk '/VmRSS/{print $2}' /proc/$apid/status)
  c0=$(awk '{print $14+$15}' /proc/$apid/stat)
  n1=$(wrk -t1 -c"$conc" -d"${secs}s" -s bench/lib/wrk.lua "http://127.0.0.1:$port/v1/payments/pay_01HZX3K9Q7V2M4N8R6T0W5Y1AB?include_items=true" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
  n2=$(BENCH_BODY_FILE=bench/fixtures/create-payment.json wrk -t1 -c"$conc" -d"${secs}s" -s bench/lib/wrk.lua "http://127.0.0.1:$port/v1/payments" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
  c1=$(awk '{print $14+$15}' /proc/$apid/stat)
  hwm=$(awk '/VmHWM/{print $2}' /proc/$apid/status)
  kill -TERM $apid; wait $apid || true
  awk -v l="$label" -v r="$ready" -v h="$hwm" -v c=$((c1 - c0)) -v n=$((n1 + n2)) -v s="$secs" \
    'BEGIN{printf "| %s | %.0f | %.0f | %.0f | %.0f |\n", l, r/1024, h/1024, c*10000/n, n/(2*s)}'
done <<< "$CONFIGS"
