// The live memory one request in flight costs attache: the bench protos, a backend that holds every GetPayment
// answer --delay-ms (bench/backend.mjs), and --requests GETs sent at once over as many keep-alive connections.
// The same number of requests is sent once first (the connections, compiled code and caches of the steady
// state), then, with attache idle and again with every request in flight, node's inspector runs a full
// collection in attache and reads process.memoryUsage(): the difference divided by the request count is what
// an in-flight request keeps alive (its connection's share included when the client opened new ones).
// --snapshots also writes heap snapshots of both moments and prints the object groups that grew, per request.
//
// Usage: node bench/inflight-memory.mjs [--requests 1000] [--delay-ms 4000] [--snapshots] [--dist DIR]
// Bounded: readiness 15 s, each batch of requests 60 s; only 127.0.0.1; every process is stopped by PID.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { snapshotGroups } from './lib/heap-snapshot.mjs';
import { collectedMemory, inspector, inspectorUrl } from './lib/inspector.mjs';
import { attacheFlags, freePort, listening, startNode, stopAll } from './lib/processes.mjs';
import { arg, BENCH_DIR, GET_PATH, REPO_DIR } from './lib/proto.mjs';

const N = Number(arg('requests', '1000'));
const DELAY_MS = Number(arg('delay-ms', '4000'));
const SNAPSHOTS = process.argv.includes('--snapshots');
const DIST = path.resolve(arg('dist', path.join(REPO_DIR, 'dist')));
if (!(Number.isInteger(N) && N >= 1 && N <= 10_000)) throw new Error('--requests must be an integer in 1..10000');
if (!(Number.isInteger(DELAY_MS) && DELAY_MS >= 1000 && DELAY_MS <= 30_000)) throw new Error('--delay-ms must be an integer in 1000..30000');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function snapshot(insp, file) {
  const chunks = [];
  await insp.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, (m) => {
    if (m.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(m.params.chunk);
  });
  fs.writeFileSync(file, chunks.join(''));
}

async function main() {
  const backend = await startNode('backend', [path.join(BENCH_DIR, 'backend.mjs'), '--delay-ms', String(DELAY_MS)], async (out) => listening(out));
  const port = await freePort();
  const admin = await freePort();
  // No bulkhead (its default, 256 calls per upstream, would answer the rest 503 at once) and a deadline above the delay.
  const argv = ['--inspect=127.0.0.1:0', path.join(DIST, 'cli.js'), ...attacheFlags(`127.0.0.1:${backend.info}`, `127.0.0.1:${port}`, `127.0.0.1:${admin}`), '--bulkhead-max-concurrent', '0', '--default-deadline', `${DELAY_MS * 3}ms`];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTACHE_') && k !== 'GRPC_TARGET'));
  const child = spawn(process.execPath, argv, { cwd: REPO_DIR, env, stdio: ['ignore', 'ignore', 'pipe'] });
  process.on('exit', () => child.exitCode === null && child.kill('SIGKILL'));
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-20_000)));
  const agent = new http.Agent({ keepAlive: true, maxSockets: N });
  let insp;
  try {
    for (let waited = 0; ; waited += 50) {
      if (child.exitCode !== null) throw new Error(`attache exited (${child.exitCode}):\n${err}`);
      if (waited > 15_000) throw new Error(`attache not ready after 15 s:\n${err}`);
      if (await fetch(`http://127.0.0.1:${admin}/readyz`).then((r) => r.status === 200, () => false)) break;
      await sleep(50);
    }
    insp = await inspector(inspectorUrl(err));
    const get = () =>
      new Promise((resolve) => {
        const q = http.get(`http://127.0.0.1:${port}${GET_PATH}`, { agent, timeout: 60_000 }, (r) => {
          r.resume();
          r.on('end', () => resolve(r.statusCode));
        });
        q.on('timeout', () => q.destroy());
        q.on('error', () => resolve(0));
      });
    const batch = async () => {
      const codes = await Promise.all(Array.from({ length: N }, get));
      const bad = codes.filter((c) => c !== 200).length;
      if (bad > 0) throw new Error(`${bad} of ${N} requests did not answer 200`);
    };
    await batch();
    const idle = await collectedMemory(insp);
    if (SNAPSHOTS) await snapshot(insp, path.join(os.tmpdir(), 'attache-inflight-idle.heapsnapshot'));
    const running = batch();
    await sleep(Math.min(1500, DELAY_MS / 2));
    const busy = await collectedMemory(insp);
    if (SNAPSHOTS) await snapshot(insp, path.join(os.tmpdir(), 'attache-inflight-busy.heapsnapshot'));
    await running;
    const per = (k) => ((busy[k] - idle[k]) / N).toFixed(0);
    console.log(`${N} requests in flight (node ${process.version}): per request, after a full collection: heap ${per('heapUsed')} B, external ${per('external')} B (ArrayBuffers ${per('arrayBuffers')} B); heap when idle ${(idle.heapUsed / 2 ** 20).toFixed(1)} MiB`);
    if (SNAPSHOTS) {
      const a = snapshotGroups(path.join(os.tmpdir(), 'attache-inflight-idle.heapsnapshot')).by;
      const b = snapshotGroups(path.join(os.tmpdir(), 'attache-inflight-busy.heapsnapshot')).by;
      const rows = [...b].map(([k, g]) => [k, g.count - (a.get(k)?.count ?? 0), g.size - (a.get(k)?.size ?? 0)]).filter((r) => r[2] > 0).sort((x, y) => y[2] - x[2]);
      console.log('\n| group (snapshot node type and name) | objects per request | bytes per request |\n|---|---:|---:|');
      for (const [k, c, bytes] of rows.slice(0, 30)) console.log(`| ${k} | ${(c / N).toFixed(1)} | ${(bytes / N).toFixed(0)} |`);
      console.log('\n(minified constructor names: look them up in dist/attache.js.map)');
    }
  } finally {
    insp?.close();
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r()));
    await stopAll();
  }
}

main().catch((e) => {
  console.error(`inflight-memory: ${e.stack ?? e}`);
  process.exitCode = 1;
});
