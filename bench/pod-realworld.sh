#!/usr/bin/env bash
# The real-world proto set (bench/realworld/build-set.mjs: 25 Google Cloud API packages, ~1,200 HTTP rules)
# inside a memory limit, as a pod runs it: attache alone in a memory cgroup of LIMIT_MIB (128), no
# NODE_OPTIONS, once per setting (SETTINGS lines "label|attache flags"); it is ready, then every route gets one
# request (the template's variables filled in, `{}` as the body; the upstream is a closed port, so each
# answer is attache's own 503 after the request was routed and transcoded), then 64 concurrent rounds over
# all routes (bounded: ROUNDS × routes requests). Reports the heap settings in force, time to ready, RSS
# when ready and at the end, the cgroup's peak charge and OOM kills. Needs root (cgroup v1 or v2).
# Usage: sudo bench/pod-realworld.sh [LIMIT_MIB (128)] [ROUNDS (3)]
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-128}; rounds=${2:-3}
set_dir=.bench-out/realworld/25
[ -d "$set_dir" ] || node bench/realworld/build-set.mjs --sizes 25 > /dev/null
empty=$(mktemp -d)
name="attache-podrw-$$"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cg=/sys/fs/cgroup/$name; mkdir "$cg"; echo $((limit * 1048576)) > "$cg/memory.max"
  peak() { cat "$cg/memory.peak" 2>/dev/null || echo 0; }
  ooms() { awk '/^oom_kill /{print $2}' "$cg/memory.events"; }
else
  cg=/sys/fs/cgroup/memory/$name; mkdir "$cg"; echo $((limit * 1048576)) > "$cg/memory.limit_in_bytes"
  peak() { cat "$cg/memory.max_usage_in_bytes"; }
  ooms() { awk '/^oom_kill /{print $2}' "$cg/memory.oom_control"; }
fi
apid=
cleanup() { [ -n "$apid" ] && kill -KILL "$apid" 2>/dev/null; sleep 0.2; rmdir "$cg" 2>/dev/null || true; rm -rf "$empty"; }
trap cleanup EXIT
SETTINGS=${SETTINGS:-"default (attache decides)|
--heap-tuning off|--heap-tuning off"}
printf '| setting (limit %s MiB, %s) | heap settings | ready ms | RSS ready MiB | RSS after MiB | cgroup peak MiB | OOM kills | requests | answers |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n' "$limit" "$set_dir"
while IFS='|' read -r label aflags; do
  port=$((20000 + RANDOM % 20000)); admin=$((port + 1))
  k0=$(ooms)
  t0=$(date +%s%N)
  # shellcheck disable=SC2086
  sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "$cg" node dist/cli.js --protos "$set_dir" --mappings "$empty" \
    --upstream 127.0.0.1:1 --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" --log-level error $aflags > /dev/null 2>&1 & apid=$!
  for _ in $(seq 1500); do curl -sf -o /dev/null "127.0.0.1:$admin/readyz" && break; sleep 0.02; done
  ready_ms=$((($(date +%s%N) - t0) / 1000000))
  settings=$(curl -s "127.0.0.1:$admin/metrics" | sed -n 's/^attache_heap_settings_info{source="\([^"]*\)",semi_space_mib="\([^"]*\)".*/\1 \2/p')
  sleep 0.3
  ready=$(awk '/VmRSS/{print $2}' /proc/$apid/status)
  # Every route once, then ROUNDS rounds at 64 concurrent; the routes come from attache's own /openapi.json.
  out=$(timeout 300 node -e '
    const [port, admin, rounds] = process.argv.slice(1).map(Number);
    const doc = await (await fetch(`http://127.0.0.1:${admin}/openapi.json`)).json();
    const calls = [];
    for (const [p, ops] of Object.entries(doc.paths)) for (const m of Object.keys(ops)) {
      if (!["get", "post", "put", "patch", "delete"].includes(m)) continue;
      calls.push([m.toUpperCase(), p.replace(/\{[^}]+\}/g, "a1")]);
    }
    const counts = {};
    const one = async ([method, path]) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, body: method === "GET" || method === "DELETE" ? undefined : "{}", headers: { "content-type": "application/json" } });
      await r.arrayBuffer(); counts[r.status] = (counts[r.status] ?? 0) + 1;
    };
    for (const c of calls) await one(c);
    for (let r = 0; r < rounds; r++) { let i = 0; await Promise.all(Array.from({ length: 64 }, async () => { while (i < calls.length) await one(calls[i++]); })); }
    console.log(calls.length * (rounds + 1), Object.entries(counts).map(([s, n]) => `${s}×${n}`).join(" "));
  ' --input-type=module "$port" "$admin" "$rounds" 2>&1 || echo "0 failed")
  if kill -0 "$apid" 2>/dev/null; then after=$(awk '/VmRSS/{print $2}' /proc/$apid/status); kill -TERM $apid; wait $apid || true; else after=0; wait $apid || true; fi
  apid=
  k1=$(ooms)
  awk -v l="$label" -v hs="${settings:-?}" -v rm="$ready_ms" -v r="$ready" -v a="$after" -v p="$(peak)" -v k=$((k1 - k0)) -v o="$out" \
    'BEGIN{split(o, f, " "); n=f[1]; sub(/^[^ ]* /, "", o); printf "| %s | %s | %d | %.0f | %.0f | %.0f | %d | %s | %s |\n", l, hs, rm, r/1024, a/1024, p/1048576, k, n, o}'
done <<< "$SETTINGS"
