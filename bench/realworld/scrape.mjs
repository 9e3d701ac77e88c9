// What a Prometheus scrape of /metrics costs attache on a real-world set: after one request on every route
// (so every route's series exist), SCRAPES scrapes one after the other, each with its size and line count,
// its wall time, attache's CPU time for it (/proc/PID/stat) and attache's RSS and peak RSS after it. The
// first scrape also compiles the exposition code; the later ones are the steady cost.
// Usage: node bench/realworld/scrape.mjs [--size 25] [--dist DIR] [--scrapes 5] [--node-args "..."]
// Bounded: readiness 60 s, the pass over the routes 180 s, each scrape 30 s; processes stopped by PID.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../lib/processes.mjs';
import { arg, cpuSeconds, memMiB, REPO_DIR } from '../lib/proto.mjs';
import { startBackend } from './backend.mjs';
import { buildSet } from './build-set.mjs';
import { checkRoutes, everyRouteOnce, requestsFor } from './requests.mjs';
import { loadSet } from './set.mjs';

const SIZE = Number(arg('size', '25'));
const DIST = path.resolve(arg('dist', path.join(REPO_DIR, 'dist')));
const SCRAPES = Number(arg('scrapes', '5'));
const NODE_ARGS = arg('node-args', '').split(' ').filter(Boolean);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** RSS, anonymous RSS and peak RSS of `pid`, in MiB. */
const memory = (pid) => ({ rss: memMiB(pid, 'VmRSS'), anon: memMiB(pid, 'RssAnon'), hwm: memMiB(pid, 'VmHWM') });

async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const dir = path.join(REPO_DIR, '.bench-out', 'realworld', String(SIZE));
buildSet(SIZE, dir);
const set = loadSet(dir);
const requests = requestsFor(set, checkRoutes(DIST, dir));
const backend = await startBackend(set);
const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-scrape-'));
const [port, admin] = [await freePort(), await freePort()];
const child = spawn(process.execPath, [
  ...NODE_ARGS, path.join(DIST, 'cli.js'), '--protos', dir, '--mappings', empty, '--upstream', backend.target,
  '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${admin}`, '--log-level', 'warn',
], { stdio: ['ignore', 'ignore', 'inherit'] });
try {
  await within(60_000, 'readiness', (async () => {
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${admin}/readyz`)).ok) return;
      } catch {}
      await sleep(20);
    }
  })());
  const non2xx = await within(180_000, 'one request per route', everyRouteOnce(`http://127.0.0.1:${port}`, requests));
  await sleep(500);
  const m0 = memory(child.pid);
  console.log(`node ${process.version}, ${SIZE} packages, ${requests.length} routes (${non2xx.length} non-2xx), build ${DIST}`);
  console.log(`after one request per route: RSS ${m0.rss.toFixed(1)} MiB (anon ${m0.anon.toFixed(1)})`);
  for (let i = 1; i <= SCRAPES; i++) {
    const c0 = cpuSeconds(child.pid);
    const t0 = performance.now();
    const text = await within(30_000, 'scrape', fetch(`http://127.0.0.1:${admin}/metrics`).then((r) => r.text()));
    const wall = performance.now() - t0;
    await sleep(200); // the CPU figure is in ticks of 10 ms: let the scrape's own work settle
    const m = memory(child.pid);
    console.log(
      `scrape ${i}: ${(Buffer.byteLength(text) / 1e6).toFixed(2)} MB, ${text.split('\n').length - 1} lines, ${wall.toFixed(0)} ms, ` +
        `attache CPU ${((cpuSeconds(child.pid) - c0) * 1000).toFixed(0)} ms, RSS ${m.rss.toFixed(1)} MiB (anon ${m.anon.toFixed(1)}), peak ${m.hwm.toFixed(1)} MiB`,
    );
  }
} finally {
  child.kill('SIGTERM');
  await within(10_000, 'attache to stop', new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)))).catch(() => child.kill('SIGKILL'));
  await backend.close();
  fs.rmSync(empty, { recursive: true, force: true });
}
