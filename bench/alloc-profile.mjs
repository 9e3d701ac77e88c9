// Bytes allocated per request by allocation site, collected objects included: attache started in-process
// against bench/backend.mjs, wrk GET at --c for --secs seconds (after a 2 s warm-up at c=16), under V8's
// sampling heap profiler with includeObjectsCollectedByMajorGC/MinorGC (node --heap-prof keeps only the
// objects still alive at exit, which says nothing about garbage). Prints the total and the top sites.
// Usage: npm run build && node bench/alloc-profile.mjs [--c 1] [--secs 4] [--interval 1024] [--top 30]
import { spawn } from 'node:child_process';
import inspector from 'node:inspector/promises';
import path from 'node:path';
import { arg, BENCH_DIR, GET_PATH, MAPPING_FILE, PROTOS_DIR, REPO_DIR } from './lib/proto.mjs';

const C = Number(arg('c', '1'));
const SECS = Number(arg('secs', '4'));
const INTERVAL = Number(arg('interval', '1024'));
const TOP = Number(arg('top', '30'));
const dist = (p) => import(path.join(REPO_DIR, 'dist', p));
const { loadConfig } = await dist('config/load.js');
const { start, createLogger } = await dist('main.js');

const backend = spawn(process.execPath, [path.join(BENCH_DIR, 'backend.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => backend.kill('SIGTERM'));
const bport = await new Promise((r) => backend.stdout.on('data', (d) => /listening (\d+)/.test(String(d)) && r(/listening (\d+)/.exec(String(d))[1])));
const loaded = loadConfig(['--protos', PROTOS_DIR, '--mappings', MAPPING_FILE, '--upstream', `127.0.0.1:${bport}`, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', 'warn'], {});
const running = await start(loaded.config, createLogger(loaded.config));
const url = `http://127.0.0.1:${running.port}${GET_PATH}`;
// wrk is bounded by -d and by a hard kill 10 s later.
const wrk = (c, secs) =>
  new Promise((resolve) => {
    const p = spawn('wrk', ['-t1', `-c${c}`, `-d${secs}s`, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    const kill = setTimeout(() => p.kill('SIGKILL'), (secs + 10) * 1000);
    let out = '';
    p.stdout.on('data', (x) => (out += x));
    p.on('close', () => (clearTimeout(kill), resolve(out)));
  });

await wrk(16, 2);
const session = new inspector.Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', { samplingInterval: INTERVAL, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const out = await wrk(C, SECS);
const { profile } = await session.post('HeapProfiler.stopSampling');
const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
const bySite = new Map();
let total = 0;
(function walk(node) {
  const f = node.callFrame;
  const site = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*node_modules\//, '').replace(`file://${REPO_DIR}/`, '')}:${f.lineNumber + 1}`;
  total += node.selfSize;
  if (node.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  for (const c of node.children) walk(c);
})(profile.head);
process.stdout.write(`GET c=${C}, ${requests} requests: ${(total / Math.max(1, requests) / 1024).toFixed(1)} KB allocated per request (sampled every ${INTERVAL} B)\n`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
  process.stdout.write(`${(bytes / Math.max(1, requests)).toFixed(0).padStart(7)} B/req  ${site}\n`);
}
await running.stop();
process.exit(0);
