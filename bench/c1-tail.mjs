// Where the c=1 tail comes from: attache started in-process against bench/backend.mjs, wrk GET at c=1 for
// --secs seconds (after a 2 s warm-up at c=16). Each request's time inside attache (Node's
// `http.server.request.start` → `http.server.response.finish` diagnostics channels) is recorded with
// every GC pause of the process (PerformanceObserver 'gc' entries). Prints wrk's p50/p99 (the client's
// view: attache + backend + wrk + the kernel) next to attache's own p50/p99/p99.9 (which includes the wait
// for the backend), the share of requests a GC pause delayed, attache's p99 without them, and the gap
// between one answer and the next request (wrk, kernel, scheduling). If attache's own p99 is far below
// wrk's, the tail is not made inside attache.
// Usage: npm run build && node bench/c1-tail.mjs [--secs 8] [--dist DIR]
import dc from 'node:diagnostics_channel';
import path from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { benchJson, startAttacheInProcess, startBackend, stopAll, wrk as runWrk } from './lib/processes.mjs';
import { arg, GET_PATH, REPO_DIR } from './lib/proto.mjs';

const SECS = Number(arg('secs', '8'));
if (!(SECS > 0 && SECS <= 10)) throw new Error('--secs (0, 10]');
const DIST = path.resolve(arg('dist', REPO_DIR), 'dist');

const backend = await startBackend();
const running = await startAttacheInProcess(DIST, backend.target);
const url = `http://127.0.0.1:${running.port}${GET_PATH}`;
// wrk is bounded by -d and by a hard kill 10 s later; C1_TAIL_WRK=1 echoes its output.
const wrk = async (c, secs) => {
  const out = await runWrk(url, { conc: c, secs, killAfterS: 10, stderr: 'inherit' });
  if (process.env.C1_TAIL_WRK) process.stderr.write(out);
  return benchJson(out) ?? {};
};

await wrk(16, 2);
const MAX = 200_000;
const startAt = new Float64Array(MAX);
const endAt = new Float64Array(MAX);
let n = 0;
const open = new WeakMap();
let recording = true;
const onStart = ({ request }) => {
  if (recording && n < MAX) open.set(request, n++), (startAt[n - 1] = performance.now());
};
const onFinish = ({ request }) => {
  const i = open.get(request);
  if (i !== undefined) endAt[i] = performance.now();
};
dc.subscribe('http.server.request.start', onStart);
dc.subscribe('http.server.response.finish', onFinish);
const pauses = [];
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push({ start: e.startTime, end: e.startTime + e.duration, kind: e.detail?.kind ?? e.kind });
});
obs.observe({ entryTypes: ['gc'] });
const client = await wrk(1, SECS);
recording = false;
await new Promise((r) => setTimeout(r, 100));
obs.disconnect();
dc.unsubscribe('http.server.request.start', onStart);
dc.unsubscribe('http.server.response.finish', onFinish);

// At c=1 the next request starts when wrk has read the previous answer and sent again: the gap between one
// response's finish and the next request's start is wrk's turnaround plus the kernel and scheduling, plus any
// pause of this process that ran in between (a scavenge started as an idle-time task does: the request
// then waits in the socket). A request counts as GC-affected when a pause overlaps [previous finish, its
// finish].
const all = [];
const clean = [];
const gaps = [];
const cleanGaps = [];
/** From one finish to the next: what wrk's latency plus its own turnaround can be at most. */
const cycles = [];
pauses.sort((a, b) => a.start - b.start);
let p = 0;
for (let i = 0; i < n; i++) {
  if (endAt[i] === 0) continue;
  const ms = endAt[i] - startAt[i];
  const from = i > 0 && endAt[i - 1] !== 0 ? endAt[i - 1] : startAt[i];
  all.push(ms);
  while (p < pauses.length && pauses[p].end < from) p++;
  const hit = p < pauses.length && pauses[p].start <= endAt[i];
  if (!hit) clean.push(ms);
  if (from !== startAt[i]) {
    cycles.push(endAt[i] - from);
    gaps.push(startAt[i] - from);
    if (!hit) cleanGaps.push(startAt[i] - from);
  }
}
const q = (xs, f) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(f * s.length))];
};
const f = (x) => x.toFixed(3);
const hitShare = all.length === 0 ? 0 : (100 * (all.length - clean.length)) / all.length;
process.stdout.write(
  `wrk (client's view): ${client.requests} requests, p50 ${f(client.p50_ms)} ms, p99 ${f(client.p99_ms)} ms\n` +
    `inside attache: ${all.length} requests, p50 ${f(q(all, 0.5))} ms, p99 ${f(q(all, 0.99))} ms, p99.9 ${f(q(all, 0.999))} ms, max ${f(q(all, 1))} ms\n` +
    `GC pauses: ${pauses.length} (total ${f(pauses.reduce((s, x) => s + x.end - x.start, 0))} ms); requests overlapped by one: ${hitShare.toFixed(2)}%; ` +
    `inside attache without them: p99 ${f(q(clean, 0.99))} ms, p99.9 ${f(q(clean, 0.999))} ms\n` +
    `gap from one finish to the next start (wrk, kernel, scheduling, pauses): p50 ${f(q(gaps, 0.5))} ms, p99 ${f(q(gaps, 0.99))} ms, p99.9 ${f(q(gaps, 0.999))} ms; ` +
    `without GC-affected requests: p99 ${f(q(cleanGaps, 0.99))} ms\n` +
    `finish to finish (one whole cycle as this process sees it): p50 ${f(q(cycles, 0.5))} ms, p99 ${f(q(cycles, 0.99))} ms, p99.9 ${f(q(cycles, 0.999))} ms\n`,
);
await running.stop();
await stopAll();
process.exit(0);
