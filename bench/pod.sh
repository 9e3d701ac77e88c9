#!/usr/bin/env bash
# attache inside a memory limit, the way a Kubernetes pod runs it: a memory cgroup with LIMIT_MIB (128)
# as its hard limit (cgroup v2 memory.max or v1 memory.limit_in_bytes; needs root), attache alone in it,
# wrk c=CONC GET then POST for SECONDS each against bench/backend.mjs (outside the cgroup).
# Reports, per setting (CONFIGS lines "label|node flags|attache flags"): the heap limit Node picks from the
# cgroup for those node flags, the heap settings attache put in force (attache_heap_settings_info: source
# and semi-space MiB; by default it re-executes node inside a limit under 1 GiB, --heap-tuning off keeps
# V8's sizing), the time to ready, RSS when ready, the cgroup's peak charge (what the kubelet compares with
# the limit: RSS + page cache + kernel memory), peak VmHWM, OOM kills, CPU µs per request and req/s, and
# from attache's /metrics (nodejs_gc_duration_seconds) the scavenges and the GC time (all kinds) per 1,000
# requests under load: what the young generation's size changes, and, unlike CPU per request, hardly
# moved by other load on the machine (scavenge counts not at all). The attache measured is dist/cli.js, or DIST's cli.js (a folder beside a package.json, protos/ and third_party/).
# Usage: sudo bench/pod.sh [SECONDS (5)] [LIMIT_MIB (128)] [CONC (64)]
#
# Why a cgroup and not just VmHWM on the bench machine: Node sizes its heap from the memory it may use
# (process.constrainedMemory(), the cgroup limit), so a process measured on a 23 GiB machine grows a heap a
# 128 MiB pod never gives it. Only the run inside the limit says whether attache fits.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}; limit=${2:-128}; conc=${3:-64}
out=.bench-out/pod; mkdir -p "$out"
name="attache-pod-$$"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cg=/sys/fs/cgroup/$name; mkdir "$cg"; echo $((limit * 1048576)) > "$cg/memory.max"; echo 0 > "$cg/memory.swap.max" 2>/dev/null || true
  peak() { cat "$cg/memory.peak" 2>/dev/null || echo 0; }
  ooms() { awk '/^oom_kill /{print $2}' "$cg/memory.events"; }
  reset_peak() { :; }
elif [ -d /sys/fs/cgroup/memory ]; then
  cg=/sys/fs/cgroup/memory/$name; mkdir "$cg"; echo $((limit * 1048576)) > "$cg/memory.limit_in_bytes"
  echo $((limit * 1048576)) > "$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true
  peak() { cat "$cg/memory.max_usage_in_bytes"; }
  ooms() { awk '/^oom_kill /{print $2}' "$cg/memory.oom_control"; }
  reset_peak() { echo 0 > "$cg/memory.max_usage_in_bytes"; }
else
  echo "no memory cgroup (v1 or v2) to use" >&2; exit 2
fi
node bench/backend.mjs > "$out/backend.log" 2>&1 & bpid=$!
apid=
cleanup() { [ -n "$apid" ] && kill -KILL "$apid" 2>/dev/null; kill "$bpid" 2>/dev/null; sleep 0.2; rmdir "$cg" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 50); do grep -q listening "$out/backend.log" && break; sleep 0.1; done
bport=$(sed -n 's/listening //p' "$out/backend.log")
dist=${DIST:-dist}
CONFIGS=${CONFIGS:-"default (attache decides)||
--heap-tuning off (V8's sizing)||--heap-tuning off
semi-space 4 MiB|--max-semi-space-size=4|
semi-space 8 MiB|--max-semi-space-size=8|"}
printf '| setting (limit %s MiB) | heap limit MiB (node flags, before attache decides) | heap settings | ready ms | RSS ready MiB | cgroup peak MiB | peak VmHWM MiB | OOM kills | CPU µs/req | req/s | scavenges /1k req | GC ms /1k req |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n' "$limit"
# "<minor GCs> <GC seconds, all kinds>" from attache's /metrics.
gcs() { curl -s "127.0.0.1:$1/metrics" | awk '/^nodejs_gc_duration_seconds_count\{kind="minor"\}/{m=$2} /^nodejs_gc_duration_seconds_sum/{s+=$2} END{print m+0, s+0}'; }
while IFS='|' read -r label flags aflags; do
  port=$((20000 + RANDOM % 20000)); admin=$((port + 1))
  k0=$(ooms)
  # The heap limit Node picks for these flags inside the cgroup (from process.constrainedMemory()).
  # shellcheck disable=SC2086
  heap=$(sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "$cg" node $flags -p \
    "Math.round(require('v8').getHeapStatistics().heap_size_limit / 1048576)" 2>/dev/null)
  # The shell moves itself into the cgroup, then becomes node: attache is the only process charged to it.
  t0=$(date +%s%N)
  # shellcheck disable=SC2086
  sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "$cg" node $flags "$dist/cli.js" --protos bench/protos \
    --mappings bench/bench.mapping.yaml --upstream "127.0.0.1:$bport" --listen "127.0.0.1:$port" \
    --admin-listen "127.0.0.1:$admin" --log-level warn $aflags > "$out/attache.log" 2>&1 & apid=$!
  for _ in $(seq 500); do curl -sf -o /dev/null "127.0.0.1:$admin/readyz" && break; sleep 0.02; done
  ready_ms=$((($(date +%s%N) - t0) / 1000000))
  settings=$(curl -s "127.0.0.1:$admin/metrics" | sed -n 's/^attache_heap_settings_info{source="\([^"]*\)",semi_space_mib="\([^"]*\)".*/\1 \2/p')
  sleep 0.3
  ready=$(awk '/VmRSS/{print $2}' /proc/$apid/status)
  reset_peak
  c0=$(awk '{print $14+$15}' /proc/$apid/stat)
  read -r g0 gs0 <<< "$(gcs "$admin")"
  n1=$(timeout $((secs + 10)) wrk -t1 -c"$conc" -d"${secs}s" -s bench/lib/wrk.lua "http://127.0.0.1:$port/v1/payments/pay_01HZX3K9Q7V2M4N8R6T0W5Y1AB?include_items=true" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
  n2=$(BENCH_BODY_FILE=bench/fixtures/create-payment.json timeout $((secs + 10)) wrk -t1 -c"$conc" -d"${secs}s" -s bench/lib/wrk.lua "http://127.0.0.1:$port/v1/payments" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
  if kill -0 "$apid" 2>/dev/null; then
    c1=$(awk '{print $14+$15}' /proc/$apid/stat)
    read -r g1 gs1 <<< "$(gcs "$admin")"
    hwm=$(awk '/VmHWM/{print $2}' /proc/$apid/status)
    kill -TERM $apid; wait $apid || true
  else
    c1=$c0; hwm=0; g1=$g0; gs1=$gs0; wait $apid || true
  fi
  apid=
  k1=$(ooms)
  awk -v l="$label" -v hs="${settings:-?}" -v rm="$ready_ms" -v r="$ready" -v p="$(peak)" -v h="$hwm" -v k=$((k1 - k0)) -v c=$((c1 - c0)) -v n=$((${n1:-0} + ${n2:-0})) -v s="$secs" -v hl="$heap" \
    -v gn=$((g1 - g0)) -v gs="$(awk -v a="$gs0" -v b="$gs1" 'BEGIN{print b - a}')" \
    'BEGIN{printf "| %s | %s | %s | %d | %.0f | %.0f | %.0f | %d | %.0f | %.0f | %.1f | %.0f |\n", l, hl, hs, rm, r/1024, p/1048576, h/1024, k, (n>0? c*10000/n : 0), n/(2*s), (n>0? gn*1000/n : 0), (n>0? gs*1e6/n : 0)}'
done <<< "$CONFIGS"
