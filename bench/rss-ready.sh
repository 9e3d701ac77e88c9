#!/usr/bin/env bash
# Resident memory of attache once /readyz answers 200: VmRSS, RssAnon and RssFile from /proc/<pid>/status,
# RUNS starts (default 5), each value's median. Usage: bench/rss-ready.sh [RUNS] [bench|demo]
# `bench` serves bench/protos against bench/backend.mjs; `demo` is `--demo --log-format json`.
# Extra attache flags go in ATTACHE_ARGS, node flags in NODE_ARGS (e.g. NODE_ARGS=--expose-gc); CLI=path runs
# another entry file than dist/cli.js (e.g. CLI=dist/cli-modules.js, the same build unbundled).
# SETTLE=S samples S seconds after ready instead of 0.3 (V8's memory reducer first runs ~8–9 s after start).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}; mode=${2:-bench}
out=.bench-out/rss-ready; mkdir -p "$out"
bpid=
if [ "$mode" = bench ]; then
  node bench/backend.mjs > "$out/backend.log" 2>&1 & bpid=$!
  for _ in $(seq 50); do grep -q listening "$out/backend.log" && break; sleep 0.1; done
  bport=$(sed -n 's/listening //p' "$out/backend.log")
  args=(--protos bench/protos --mappings bench/bench.mapping.yaml --upstream "127.0.0.1:$bport" --log-level warn)
else
  args=(--demo --log-format json --log-level warn)
fi
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null || true' EXIT
: > "$out/samples"
for _ in $(seq "$runs"); do
  port=$((20000 + RANDOM % 20000)); admin=$((port + 1))
  # shellcheck disable=SC2086
  node ${NODE_ARGS:-} "${CLI:-dist/cli.js}" "${args[@]}" ${ATTACHE_ARGS:-} --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" \
    > "$out/attache.log" 2>&1 & apid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "127.0.0.1:$admin/readyz" && break; sleep 0.05; done
  sleep "${SETTLE:-0.3}" # let start-up garbage settle the way a pod would between ready and first request
  awk '/^VmRSS|^RssAnon|^RssFile/{printf "%s ", $2} END{print ""}' /proc/$apid/status >> "$out/samples"
  kill -TERM $apid; wait $apid || true
done
med() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
rss=$(awk '{print $1}' "$out/samples" | med); anon=$(awk '{print $2}' "$out/samples" | med); file=$(awk '{print $3}' "$out/samples" | med)
echo "runs=$runs mode=$mode VmRSS(KiB): $(awk '{printf "%s ", $1}' "$out/samples")"
awk -v r="$rss" -v a="$anon" -v f="$file" 'BEGIN{printf "median VmRSS %.1f MiB (RssAnon %.1f, RssFile %.1f)\n", r/1024, a/1024, f/1024}'
