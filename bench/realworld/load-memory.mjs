// What attache's memory is made of under load on a real-world set (issue 17's peak RSS): one attache on the
// set of --size packages (bench/realworld/build-set.mjs) in front of its grpc-js backend, one request on every
// route, then wrk -c--conc round-robin over every route for --duration s, printing once a second:
// - VmRSS, RssAnon and RssFile (/proc/PID/status);
// - V8's heap (total, used; new and old space sizes), `external` and `arrayBuffers` from
//   process.memoryUsage(), read in attache through node's inspector (attache runs with
//   --inspect=127.0.0.1:0: the inspector only evaluates an expression, it does not collect);
// then req/s, CPU µs per request and VmHWM, and the same line 2 s after the load.
// What it shows (bench/RESULTS.md §19): the old generation grows at a steady rate under load until a full
// collection (request state promoted by the scavenges it outlives), and `arrayBuffers` with it when request
// state keeps Buffer pool slices.
//
// Usage: node bench/realworld/load-memory.mjs [--size 25] [--conc 64] [--duration 8] [--dist DIR]
//        [--attache-args "..."] [--node-args "..."]
// Bounded: readiness 60 s, the pass over the routes 180 s, wrk -d plus 15 s; only 127.0.0.1; every process
// started here is stopped by PID.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspector, inspectorUrl } from '../lib/inspector.mjs';
import { freePort, listening, startNode, stopAll } from '../lib/processes.mjs';
import { arg, BENCH_DIR, cpuSeconds, memMiB, REPO_DIR } from '../lib/proto.mjs';
import { buildSet } from './build-set.mjs';
import { checkRoutes, everyRouteOnce, requestsFor, wrkRoutes, writeRoutesFile } from './requests.mjs';
import { loadSet } from './set.mjs';

const SIZE = Number(arg('size', '25'));
const CONC = Number(arg('conc', '64'));
const DURATION = Number(arg('duration', '8'));
const DIST = path.resolve(arg('dist', path.join(REPO_DIR, 'dist')));
const ATTACHE_ARGS = arg('attache-args', '').split(' ').filter(Boolean);
const NODE_ARGS = arg('node-args', '').split(' ').filter(Boolean);
if (!(Number.isInteger(SIZE) && SIZE >= 1 && SIZE <= 25)) throw new Error('--size must be an integer in 1..25');
if (!(CONC >= 1 && CONC <= 256)) throw new Error('--conc must be in 1..256');
if (!(DURATION > 0 && DURATION <= 60)) throw new Error('--duration must be in (0, 60]');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MIB = 2 ** 20;
const dir = path.join(REPO_DIR, '.bench-out', 'realworld', String(SIZE));

// Runs inside attache: heap figures in bytes (process.getBuiltinModule: Node ≥ 20.16 / 22.3).
const HEAP_EXPRESSION = `(() => {
  const v8 = process.getBuiltinModule('v8');
  const m = process.memoryUsage();
  const space = (n) => v8.getHeapSpaceStatistics().find((s) => s.space_name === n)?.space_size ?? 0;
  return { heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, newSpace: space('new_space'), oldSpace: space('old_space') };
})()`;

/** RSS, its anon and file parts, and the peak, in MiB (/proc/PID/status). */
function status(pid) {
  return { rss: memMiB(pid, 'VmRSS'), anon: memMiB(pid, 'RssAnon'), file: memMiB(pid, 'RssFile'), hwm: memMiB(pid, 'VmHWM') };
}

async function line(label, pid, insp) {
  const p = status(pid);
  const h = await insp.evaluate(HEAP_EXPRESSION);
  const f = (b) => (b / MIB).toFixed(1);
  console.log(
    `${label.padEnd(12)} RSS ${p.rss.toFixed(1)} (anon ${p.anon.toFixed(1)}, file ${p.file.toFixed(1)}) MiB | heap ${f(h.heapUsed)} used of ${f(h.heapTotal)} (new ${f(h.newSpace)}, old ${f(h.oldSpace)}) | external ${f(h.external)}, arrayBuffers ${f(h.arrayBuffers)} MiB`,
  );
}

async function main() {
  buildSet(SIZE, dir);
  const requests = requestsFor(loadSet(dir), checkRoutes(DIST, dir));
  const routesFile = path.join(REPO_DIR, '.bench-out', 'realworld', `${SIZE}.load-memory.routes.tsv`);
  writeRoutesFile(requests, routesFile);
  const backend = await startNode('backend', [path.join(BENCH_DIR, 'realworld', 'backend.mjs'), '--set', dir, '--max-seconds', '600'], async (out) => listening(out));
  const port = await freePort();
  const admin = await freePort();
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-rw-mappings-'));
  const argv = [
    ...NODE_ARGS, '--inspect=127.0.0.1:0', path.join(DIST, 'cli.js'), '--protos', dir, '--mappings', empty, '--upstream', `127.0.0.1:${backend.info}`,
    '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${admin}`, '--log-level', 'warn', ...ATTACHE_ARGS,
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTACHE_') && k !== 'GRPC_TARGET'));
  const child = spawn(process.execPath, argv, { cwd: REPO_DIR, env, stdio: ['ignore', 'ignore', 'pipe'] });
  process.on('exit', () => child.exitCode === null && child.kill('SIGKILL'));
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-20_000)));
  let insp;
  try {
    for (let waited = 0; ; waited += 20) {
      if (child.exitCode !== null) throw new Error(`attache exited (${child.exitCode}):\n${err}`);
      if (waited > 60_000) throw new Error(`attache not ready after 60 s:\n${err}`);
      const ok = await fetch(`http://127.0.0.1:${admin}/readyz`).then((r) => r.status === 200, () => false);
      if (ok) break;
      await sleep(20);
    }
    insp = await inspector(inspectorUrl(err));
    await sleep(300);
    await line('ready', child.pid, insp);
    const non2xx = await everyRouteOnce(`http://127.0.0.1:${port}`, requests);
    if (non2xx.length > 0) console.log(`${non2xx.length} route(s) did not answer 2xx, the first: ${non2xx[0]}`);
    await line('every route', child.pid, insp);
    const c0 = cpuSeconds(child.pid);
    const wrk = wrkRoutes(`http://127.0.0.1:${port}`, routesFile, { conc: CONC, seconds: DURATION, maxRequests: 2_000_000 });
    let done = false;
    void wrk.catch(() => undefined).finally(() => (done = true)); // its failure is thrown by `await wrk` below
    for (let s = 1; !done; s++) {
      await sleep(1000);
      if (!done) await line(`load ${s} s`, child.pid, insp);
    }
    const w = await wrk;
    const cpu = cpuSeconds(child.pid) - c0;
    console.log(`load c=${CONC}: ${w.rps.toFixed(0)} req/s, ${((cpu / w.requests) * 1e6).toFixed(0)} µs CPU/req, p50 ${w.p50_ms.toFixed(2)} / p99 ${w.p99_ms.toFixed(2)} ms, ${w.errors} errors; peak RSS (VmHWM) ${status(child.pid).hwm.toFixed(1)} MiB`);
    await sleep(2000);
    await line('2 s after', child.pid, insp);
  } finally {
    insp?.close();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r()));
    fs.rmSync(empty, { recursive: true, force: true });
    await stopAll();
  }
}

main().catch((e) => {
  console.error(`load-memory: ${e.stack ?? e}`);
  process.exitCode = 1;
});
