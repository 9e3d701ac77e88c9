// Bytes allocated per request by allocation site, collected objects included: attache started in-process
// against bench/backend.mjs, wrk GET at --c for --secs seconds (after a 2 s warm-up at c=16), under V8's
// sampling heap profiler with includeObjectsCollectedByMajorGC/MinorGC (node --heap-prof keeps only the
// objects still alive at exit, which says nothing about garbage). Prints the total and the top sites.
//
// --survivors: only the objects that outlived a scavenge (see below). --gc: no profiler at all; V8's own
// per-GC heap statistics (v8.GCProfiler) over the measured window: bytes the scavenges moved into the old
// generation per request (what makes each scavenge slow and fills the old generation until a mark-compact),
// scavenges and mark-compacts per 1,000 requests and the scavenge pause distribution.
// --dist DIR: measure another build (its dist/), e.g. a worktree of the commit before a change.
// Usage: npm run build && node bench/alloc-profile.mjs [--c 1] [--secs 4] [--interval 1024] [--top 30]
//        [--survivors] [--stacks N] [--gc] [--dist DIR]
import inspector from 'node:inspector/promises';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startAttacheInProcess, startBackend, stopAll, wrk as runWrk } from './lib/processes.mjs';
import { arg, GET_PATH, REPO_DIR } from './lib/proto.mjs';

const C = Number(arg('c', '1'));
const SECS = Number(arg('secs', '4'));
const INTERVAL = Number(arg('interval', '1024'));
const TOP = Number(arg('top', '30'));
// --survivors: only objects that outlived a scavenge (minor GC), whether or not a later mark-compact freed
// them: what the scavenger copies and promotes, the cost of each scavenge pause.
const SURVIVORS = process.argv.includes('--survivors');
// --stacks N: under each of the top sites, its N heaviest call paths (5 frames up).
const STACKS = Number(arg('stacks', '0'));
const GC = process.argv.includes('--gc');
const DIST = path.resolve(arg('dist', REPO_DIR), 'dist');

const backend = await startBackend();
const running = await startAttacheInProcess(DIST, backend.target);
const url = `http://127.0.0.1:${running.port}${GET_PATH}`;
// wrk's plain GET (no Lua script, so nothing but its own request), bounded by -d and by a hard kill 10 s later.
const wrk = (c, secs) => runWrk(url, { conc: c, secs, lua: false, killAfterS: 10, stderr: 'inherit' });

await wrk(16, 2);
// A real process has run full collections before its load (start-up's, the idle memory reducer's), so its
// long-lived state (the h2 session, its stream table, the set of calls in flight) is in the old generation
// when requests come. The in-process start does not get there by itself under a big young generation: two
// full collections put it there. Without them, a long-lived Map with per-request set/delete never showed
// the promotion it causes in the real process (bench/RESULTS.md §23).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
gc();
gc();
if (GC) {
  const OLD = new Set(['old_space', 'code_space', 'map_space', 'large_object_space', 'code_large_object_space']);
  const oldBytes = (stats) => stats.heapSpaceStatistics.reduce((n, s) => n + (OLD.has(s.spaceName) ? s.spaceUsedSize : 0), 0);
  const young = (stats) => stats.heapSpaceStatistics.reduce((n, s) => n + (s.spaceName === 'new_space' || s.spaceName === 'new_large_object_space' ? s.spaceUsedSize : 0), 0);
  const prof = new v8.GCProfiler();
  prof.start();
  const out = await wrk(C, SECS);
  const { statistics } = prof.stop();
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const per = (x) => (x / Math.max(1, requests)).toFixed(0);
  const sc = statistics.filter((g) => g.gcType === 'Scavenge');
  const mc = statistics.filter((g) => g.gcType === 'MarkSweepCompact');
  // Promoted: what each scavenge added to the old generation (copied objects and whole promoted pages).
  const promoted = sc.reduce((n, g) => n + Math.max(0, oldBytes(g.afterGC) - oldBytes(g.beforeGC)), 0);
  const survived = sc.reduce((n, g) => n + young(g.afterGC), 0);
  const pauses = sc.map((g) => g.cost / 1000).sort((a, b) => a - b);
  const q = (f) => (pauses.length === 0 ? 0 : pauses[Math.min(pauses.length - 1, Math.floor(f * pauses.length))]).toFixed(2);
  process.stdout.write(
    `GET c=${C}, ${requests} requests, ${sc.length} scavenges, ${mc.length} mark-compacts: ` +
      `promoted ${per(promoted)} B/req, left in the young generation ${per(survived)} B/req; ` +
      `scavenges per 1k req ${((1000 * sc.length) / Math.max(1, requests)).toFixed(2)}, pause ms p50 ${q(0.5)} p90 ${q(0.9)} max ${q(1)}; ` +
      `GC pause time ${(statistics.reduce((n, g) => n + g.cost, 0) / Math.max(1, requests)).toFixed(1)} µs/req` +
      (mc.length > 0 ? `; mark-compact ms ${mc.map((g) => (g.cost / 1000).toFixed(1)).join(' ')}` : '') +
      '\n',
  );
  await running.stop();
  await stopAll();
  process.exit(0);
}
const session = new inspector.Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', { samplingInterval: INTERVAL, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !SURVIVORS });
const out = await wrk(C, SECS);
if (SURVIVORS) {
  // Objects still in the young generation when wrk stops have not had their chance to die: two minor GCs
  // drop the garbage among them (the profile forgets a sample when a minor GC frees its object).
  await new Promise((r) => setTimeout(r, 50));
  gc({ type: 'minor' });
  gc({ type: 'minor' });
}
const { profile } = await session.post('HeapProfiler.stopSampling');
const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
const bySite = new Map();
const stacksBySite = new Map();
let total = 0;
const siteOf = (f) => `${f.functionName || '(anonymous)'} ${f.url.replace(/.*node_modules\//, '').replace(`file://${REPO_DIR}/`, '')}:${f.lineNumber + 1}`;
(function walk(node, up) {
  const site = siteOf(node.callFrame);
  total += node.selfSize;
  if (node.selfSize > 0) {
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    if (STACKS > 0) {
      const key = up.slice(-5).reverse().join(' < ');
      const m = stacksBySite.get(site) ?? new Map();
      stacksBySite.set(site, m.set(key, (m.get(key) ?? 0) + node.selfSize));
    }
  }
  for (const c of node.children) walk(c, STACKS > 0 ? [...up, site] : up);
})(profile.head, []);
process.stdout.write(`GET c=${C}, ${requests} requests: ${(total / Math.max(1, requests) / 1024).toFixed(2)} KB ${SURVIVORS ? 'surviving a scavenge' : 'allocated'} per request (sampled every ${INTERVAL} B)\n`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
  process.stdout.write(`${(bytes / Math.max(1, requests)).toFixed(0).padStart(7)} B/req  ${site}\n`);
  for (const [stack, b] of [...(stacksBySite.get(site) ?? [])].sort((x, y) => y[1] - x[1]).slice(0, STACKS)) {
    process.stdout.write(`${(b / Math.max(1, requests)).toFixed(0).padStart(15)}  < ${stack}\n`);
  }
}
await running.stop();
await stopAll();
process.exit(0);
