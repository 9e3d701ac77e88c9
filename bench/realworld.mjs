// The real-world scenario of `npm run bench` (issue 17): attache serving Google Cloud API packages from their
// google.api.http annotations (bench/realworld/build-set.mjs: 1, 5 and 25 packages with all their imports),
// in front of a grpc-js backend that answers every method with a filled message (bench/realworld/backend.mjs).
//
// For each size, --runs launches of attache (median of each figure), each:
// - ready time: spawn → admin /readyz answering 200, polled every 5 ms, and the CPU time attache spent until
//   then (utime+stime, all threads: what a loaded machine does not inflate);
// - RSS when ready: VmRSS, RssAnon, RssFile from /proc/PID/status 0.3 s after ready (as bench/rss-ready.sh);
// - RSS after one request on every route it serves (bench/realworld/requests.mjs, one at a time), attache's
//   CPU per route for those first requests (each route's cold cost: lazy compilation included), and the
//   answers that were not 2xx (listed);
// - under load: wrk -t1 -c--conc for --duration s, round-robin over every route (bench/realworld/wrk-routes.lua):
//   req/s, CPU µs per request (utime+stime of attache from /proc/PID/stat), errors, after --warmup s of the
//   same load (the first requests of each route compile its code: a cost of its own, not the steady state);
//   peak RSS (VmHWM, over the process's whole life, warm-up included).
// Then one line on how ready time and RSS grow with the route count (1 → 5 → 25).
//
// Bounded: every wrk has -d plus a hard kill and a 2,000,000-request cap; readiness waits at most 60 s and
// the pass over every route at most 180 s; every process is started here and stopped by PID. Only 127.0.0.1
// is used, on ports the OS picks.
//
// Options: --sizes 1,5,25 --runs 3 --duration S (5) --warmup S (2) --conc N (64) --dist DIR (the build
//          measured, default dist/) --ref-dist DIR (a second build, e.g. main's, measured as `ref` in
//          alternation with the first, launch by launch, with attache/ref ratios per run: the A/B that
//          survives a shared machine) --attache-args "..." --attache-node-args "..." --out FILE
//          (.bench-out/realworld-<time>.md; a .json with every run beside it)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, listening, runBounded, startNode, stop, stopAll } from './lib/processes.mjs';
import { arg, BENCH_DIR, cpuSeconds, REPO_DIR } from './lib/proto.mjs';
import { buildSet } from './realworld/build-set.mjs';
import { checkRoutes, everyRouteOnce, requestsFor, wrkRoutes, writeRoutesFile } from './realworld/requests.mjs';
import { loadSet } from './realworld/set.mjs';

const SIZES = arg('sizes', '1,5,25').split(',').map(Number);
const RUNS = Number(arg('runs', '3'));
const DURATION = Number(arg('duration', '5'));
const WARMUP = Number(arg('warmup', '2'));
const CONC = Number(arg('conc', '64'));
const DIST = path.resolve(arg('dist', path.join(REPO_DIR, 'dist')));
const REF_DIST = arg('ref-dist', '');
const BUILDS = [{ name: 'attache', dist: DIST }, ...(REF_DIST ? [{ name: 'ref', dist: path.resolve(REF_DIST) }] : [])];
const ATTACHE_ARGS = arg('attache-args', '').split(' ').filter(Boolean);
const ATTACHE_NODE_ARGS = arg('attache-node-args', '').split(' ').filter(Boolean);
const OUT = arg('out', path.join(REPO_DIR, '.bench-out', `realworld-${new Date().toISOString().replace(/[:.]/g, '-')}.md`));
const SETS_DIR = path.join(REPO_DIR, '.bench-out', 'realworld');
const MAX_REQUESTS = 2_000_000;
for (const n of SIZES) if (!(Number.isInteger(n) && n >= 1 && n <= 25)) throw new Error('--sizes must be integers in 1..25');
if (!(RUNS >= 1 && RUNS <= 9)) throw new Error('--runs must be in 1..9');
if (!(DURATION > 0 && DURATION <= 60)) throw new Error('--duration must be in (0, 60]');
if (!(WARMUP >= 0 && WARMUP <= 60)) throw new Error('--warmup must be in [0, 60]');
if (!(CONC >= 1 && CONC <= 256)) throw new Error('--conc must be in 1..256');
for (const b of BUILDS) if (!fs.existsSync(path.join(b.dist, 'cli.js'))) throw new Error(`${b.dist}/cli.js is missing: npm run build`);

const log = (s) => process.stderr.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const KIB_PER_MIB = 1024;
// attache children started here (not through lib/processes.mjs, to poll readiness every 5 ms): SIGKILLed
// if this script exits with one still running.
const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** VmRSS, RssAnon, RssFile and VmHWM of `pid` in MiB. */
function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / KIB_PER_MIB, anon: kib('RssAnon') / KIB_PER_MIB, file: kib('RssFile') / KIB_PER_MIB, hwm: kib('VmHWM') / KIB_PER_MIB };
}

/** Whether GET `url` answers 200 within 1 s (no keep-alive: each poll is its own connection). */
function ok200(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Starts attache from the build `dist` on the set at `dir`; resolves once /readyz answers 200 (polled every 5 ms), with the time it took. */
async function startAttache(dist, dir, upstream) {
  const port = await freePort();
  const admin = await freePort();
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-rw-mappings-'));
  const argv = [
    ...ATTACHE_NODE_ARGS, path.join(dist, 'cli.js'), '--protos', dir, '--mappings', empty, '--upstream', upstream,
    '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${admin}`, '--log-level', 'warn', ...ATTACHE_ARGS,
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTACHE_') && k !== 'GRPC_TARGET'));
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { cwd: REPO_DIR, env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-20000)));
  const deadline = t0 + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`attache exited (${child.exitCode}):\n${err}`);
    if (await ok200(`http://127.0.0.1:${admin}/readyz`)) break;
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`attache not ready after 60 s:\n${err}`);
    }
    await sleep(5);
  }
  const readyMs = performance.now() - t0;
  const readyCpuMs = cpuSeconds(child.pid) * 1000;
  return { child, pid: child.pid, readyMs, readyCpuMs, url: `http://127.0.0.1:${port}`, cleanup: () => fs.rmSync(empty, { recursive: true, force: true }) };
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');

/** One launch of `build` on the set at `dir`: every figure of the table. */
async function measureLaunch(build, dir, upstream, requests, routesFile) {
  const a = await startAttache(build.dist, dir, upstream);
  try {
    await sleep(300); // as bench/rss-ready.sh: let start-up garbage settle the way a pod would before its first request
    const ready = memory(a.pid);
    const p0 = cpuSeconds(a.pid);
    const non2xx = await everyRouteOnce(a.url, requests);
    const firstCpuUs = ((cpuSeconds(a.pid) - p0) / requests.length) * 1e6;
    const after = memory(a.pid);
    if (WARMUP > 0) await wrkRoutes(a.url, routesFile, { conc: CONC, seconds: WARMUP, maxRequests: MAX_REQUESTS });
    const c0 = cpuSeconds(a.pid);
    const w = await wrkRoutes(a.url, routesFile, { conc: CONC, seconds: DURATION, maxRequests: MAX_REQUESTS });
    const cpu = cpuSeconds(a.pid) - c0;
    const peak = memory(a.pid);
    return {
      readyMs: a.readyMs, readyCpuMs: a.readyCpuMs, ready, firstCpuUs, afterEveryRoute: after, non2xx, peakMiB: peak.hwm,
      rps: w.rps, requests: w.requests, errors: w.errors, p50Ms: w.p50_ms, p99Ms: w.p99_ms, cpuUsPerReq: (cpu / w.requests) * 1e6,
    };
  } finally {
    await stop(a.child);
    a.cleanup();
  }
}

/** Every build measured RUNS times on the set of `n` packages, launches alternating (order rotating per run). */
async function measureSize(n) {
  const dir = path.join(SETS_DIR, String(n));
  const info = buildSet(n, dir);
  const set = loadSet(dir);
  const plans = BUILDS.map((b) => {
    const routes = checkRoutes(b.dist, dir);
    const requests = requestsFor(set, routes);
    const routesFile = path.join(SETS_DIR, `${n}.${b.name}.routes.tsv`);
    writeRoutesFile(requests, routesFile);
    log(`${n} package(s), ${b.name}: ${info.services} services, ${info.files} files, ${routes.length} routes served`);
    return { build: b, routes, requests, routesFile, runs: [] };
  });
  const backend = await startNode(`backend-${n}`, [path.join(BENCH_DIR, 'realworld', 'backend.mjs'), '--set', dir, '--max-seconds', '900'], async (out) => listening(out));
  const upstream = `127.0.0.1:${backend.info}`;
  try {
    for (let i = 0; i < RUNS; i++) {
      for (let k = 0; k < plans.length; k++) {
        const p = plans[(i + k) % plans.length];
        const r = { run: i + 1, ...(await measureLaunch(p.build, dir, upstream, p.requests, p.routesFile)) };
        p.runs.push(r);
        log(`  ${p.build.name} run ${i + 1}: ready ${f0(r.readyMs)} ms (CPU ${f0(r.readyCpuMs)} ms), RSS ${f1(r.ready.rss)} MiB (anon ${f1(r.ready.anon)}, file ${f1(r.ready.file)}), after every route ${f1(r.afterEveryRoute.rss)} MiB (${r.non2xx.length} non-2xx, first request CPU ${f0(r.firstCpuUs)} µs/route), load c=${CONC}: ${f0(r.rps)} req/s, ${f0(r.cpuUsPerReq)} µs/req, peak ${f1(r.peakMiB)} MiB, ${r.errors} errors`);
      }
    }
  } finally {
    await stop(backend.child);
  }
  return plans.map(({ build, routes, runs }) => {
    const m = (f) => median(runs.map(f));
    return {
      build: build.name, dist: build.dist, packages: n, services: info.services, files: info.files, routes: routes.length,
      readyMs: m((r) => r.readyMs), readyCpuMs: m((r) => r.readyCpuMs), rss: m((r) => r.ready.rss), anon: m((r) => r.ready.anon), file: m((r) => r.ready.file),
      firstCpuUs: m((r) => r.firstCpuUs), afterRss: m((r) => r.afterEveryRoute.rss), afterAnon: m((r) => r.afterEveryRoute.anon),
      non2xx: [...new Set(runs.flatMap((r) => r.non2xx))], peakMiB: m((r) => r.peakMiB), rps: m((r) => r.rps), cpuUsPerReq: m((r) => r.cpuUsPerReq),
      p50Ms: m((r) => r.p50Ms), p99Ms: m((r) => r.p99Ms), errors: runs.reduce((s, r) => s + r.errors, 0), runs,
    };
  });
}

/** attache/ref per figure at one size: the ratio within each run, then the median (lowest–highest run). */
function ratios(a, b) {
  const keys = [
    ['CPU until ready', (r) => r.readyCpuMs], ['RSS ready', (r) => r.ready.rss], ['RSS after every route', (r) => r.afterEveryRoute.rss],
    ['first request CPU', (r) => r.firstCpuUs], ['CPU/req', (r) => r.cpuUsPerReq], ['peak RSS', (r) => r.peakMiB], ['req/s', (r) => r.rps],
  ];
  return keys.map(([label, f]) => {
    const xs = a.runs.map((r, i) => f(r) / f(b.runs[i]));
    return `${label} ${f2(median(xs))}×${xs.length > 1 ? ` (${f2(Math.min(...xs))}–${f2(Math.max(...xs))})` : ''}`;
  }).join(', ');
}

/** How ready time and RSS grow with the route count: ratios between sizes and the log-log slope (< 1: sub-linear). */
function growth(rows) {
  if (rows.length < 2) return '';
  const a = rows[0];
  const z = rows[rows.length - 1];
  const slope = (key) => Math.log(z[key] / a[key]) / Math.log(z.routes / a.routes);
  const chain = (key, fmt) => rows.map((r) => fmt(r[key])).join(' → ');
  const perRoute = (key, unit, scale) => `${f1(((z[key] - a[key]) / (z.routes - a.routes)) * scale)} ${unit}`;
  return [
    `Growth over ${rows.map((r) => r.packages).join(' → ')} packages (${chain('routes', f0)} routes, ×${f1(z.routes / a.routes)}):`,
    `ready ${chain('readyMs', f0)} ms (×${f2(z.readyMs / a.readyMs)}; log-log slope ${f2(slope('readyMs'))}; ${perRoute('readyMs', 'ms', 1)} per added route),`,
    `CPU until ready ${chain('readyCpuMs', f0)} ms (×${f2(z.readyCpuMs / a.readyCpuMs)}; slope ${f2(slope('readyCpuMs'))}),`,
    `RSS when ready ${chain('rss', f1)} MiB (×${f2(z.rss / a.rss)}; slope ${f2(slope('rss'))}; ${perRoute('rss', 'KiB', 1024)} per added route),`,
    `after every route ${chain('afterRss', f1)} MiB (×${f2(z.afterRss / a.afterRss)}; slope ${f2(slope('afterRss'))}; ${perRoute('afterRss', 'KiB', 1024)} per added route).`,
    'A slope below 1 is sub-linear growth.',
  ].join(' ');
}

async function main() {
  try {
    await runBounded('wrk', ['-v'], { timeoutMs: 5000 }).then((r) => {
      if (r.code === null) throw new Error('wrk -v hung');
    });
  } catch (e) {
    throw new Error(`wrk is needed (Debian: apt-get install wrk): ${e.message}`);
  }
  const bySize = [];
  for (const n of SIZES) bySize.push(await measureSize(n));
  const rows = bySize.flat();
  const builds = BUILDS.map((b) => `${b.name} = ${path.relative(REPO_DIR, b.dist) || b.dist}`).join(', ');
  const lines = [
    `# attache real-world bench — ${new Date().toISOString()}`,
    '',
    `Machine: ${os.type()} ${os.release()}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    '',
    `Command: \`node bench/realworld.mjs ${process.argv.slice(2).join(' ')}\` — ${builds}; median of ${RUNS} launch(es) per size${BUILDS.length > 1 ? ' and build, alternating' : ''}; load: wrk -t1 -c${CONC} for ${DURATION} s after ${WARMUP} s of warm-up, round-robin over every route`,
    '',
    '| packages | build | services | routes | ready ms | CPU until ready ms | RSS ready MiB (anon / file) | RSS after every route MiB (anon) | first request CPU µs/route | non-2xx | req/s c=' + CONC + ' | CPU µs/req | p50 / p99 ms | peak RSS MiB | errors |',
    '|---:|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|---:|---:|',
    ...rows.map((r) => `| ${r.packages} | ${r.build} | ${r.services} | ${r.routes} | ${f0(r.readyMs)} | ${f0(r.readyCpuMs)} | ${f1(r.rss)} (${f1(r.anon)} / ${f1(r.file)}) | ${f1(r.afterRss)} (${f1(r.afterAnon)}) | ${f0(r.firstCpuUs)} | ${r.non2xx.length} | ${f0(r.rps)} | ${f0(r.cpuUsPerReq)} | ${f2(r.p50Ms)} / ${f2(r.p99Ms)} | ${f1(r.peakMiB)} | ${r.errors} |`),
  ];
  for (const b of BUILDS) {
    const g = growth(rows.filter((r) => r.build === b.name));
    if (g) lines.push('', `${BUILDS.length > 1 ? `${b.name}: ` : ''}${g}`);
  }
  if (BUILDS.length > 1) {
    lines.push('', 'attache/ref, within each run then the median (lowest–highest run); below 1 is less for attache:', '');
    for (const [a, b] of bySize) lines.push(`- ${a.packages} package(s): ${ratios(a, b)}`);
  }
  for (const r of rows) if (r.non2xx.length > 0) lines.push('', `Non-2xx answers, ${r.packages} package(s), ${r.build}:`, ...r.non2xx.map((x) => `- ${x}`));
  const report = `${lines.join('\n')}\n`;
  process.stdout.write(report);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, report);
  fs.writeFileSync(OUT.replace(/\.md$/, '.json'), JSON.stringify({ builds: BUILDS, conc: CONC, duration: DURATION, warmup: WARMUP, rows }, null, 1));
  log(`written to ${OUT}`);
}

main().then(stopAll, async (err) => {
  log(`realworld bench: ${err.stack ?? err}`);
  await stopAll();
  process.exitCode = 1;
});
