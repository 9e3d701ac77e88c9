// Large messages through attache (issue 17): a grpc-js backend answering ItemLists of ~16 B, ~100 KiB and
// ~3 MiB of JSON (realistic items, and a bytes-heavy variant), attache in front (its own process, each
// upstream transport in turn), and per size:
//   - heap bytes allocated per request in attache: V8's own GC accounting inside the attache process
//     (bench/large/probe.mjs: Σ(used before − used after) over every GC, plus the growth; exact, garbage
//     included), over R sequential requests, and the CPU (utime+stime) of the attache process over them;
//   - transient memory per request in flight: N concurrent requests that the backend answers together (it
//     holds each for --hold ms, so all N are in attache at once): (peak RSS − RSS before) / N, where the peak
//     is the kernel's VmHWM (reset before the burst through /proc/PID/clear_refs), next to the JSON size;
//     each such figure on a fresh attache (warmed up with 3 requests of that size), so that heap an earlier
//     burst left free does not hide what this one needs;
//   - the 100 MiB-in-flight case: --inflight concurrent 3 MiB responses (34 × 3.1 MiB), peak RSS;
//   - the same for 3 MiB JSON request bodies (POST; attache's default body limit is 4 MiB).
// Every response is compared byte for byte with the JSON protobufjs writes for it (bench/large/messages.mjs);
// the POST's answer must count the 10,000 items.
// Everything is bounded: request counts are fixed, each request has a 30 s timeout, children are killed on exit.
// Usage: npm run build && node bench/large-messages.mjs [--transports own,grpc-js] [--dist DIR]
//        [--sizes tiny,medium,large,blobs,post] [--n 16] [--inflight 34] [--hold 300] [--quick] [--out FILE]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { buildMessages, LARGE_PROTOS } from './large/messages.mjs';
import { freePort, listening, startNode, stopAll } from './lib/processes.mjs';
import { arg, BENCH_DIR, REPO_DIR } from './lib/proto.mjs';

const QUICK = process.argv.includes('--quick');
const TRANSPORTS = arg('transports', 'own,grpc-js').split(',');
const DIST = path.resolve(arg('dist', path.join(REPO_DIR, 'dist')));
const SIZE_LIST = arg('sizes', 'tiny,medium,large,blobs,post').split(',');
const N = Number(arg('n', QUICK ? '8' : '16'));
const INFLIGHT = Number(arg('inflight', '34'));
const HOLD = Number(arg('hold', '300'));
const OUT = arg('out', '');
/** Sequential requests per size for the allocation figure. */
const REPEAT = QUICK ? { tiny: 200, medium: 20, large: 4, blobs: 4, post: 4 } : { tiny: 1000, medium: 100, large: 16, blobs: 16, post: 16 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MiB = (b) => (b / 1048576).toFixed(1);
const messages = buildMessages(['tiny', 'medium', 'large', 'blobs']);
const postBody = Buffer.from(messages.large.json);
const expected = {
  tiny: Buffer.from(messages.tiny.json),
  medium: Buffer.from(messages.medium.json),
  large: Buffer.from(messages.large.json),
  blobs: Buffer.from(messages.blobs.json),
};

const backend = await startNode('large-backend', [path.join(BENCH_DIR, 'large', 'backend.mjs')], async (out) => listening(out));
const target = `127.0.0.1:${backend.info}`;

/** attache children still running: killed when this script exits, however it exits. */
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** attache from DIST in a child with the probe and an IPC channel; resolves once /readyz answers 200. */
async function startAttache(transport) {
  const port = await freePort();
  const admin = await freePort();
  const emptyMappings = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'attache-large-'));
  const argv = [
    '--expose-gc', '--import', path.join(BENCH_DIR, 'large', 'probe.mjs'), path.join(DIST, 'cli.js'),
    '--protos', LARGE_PROTOS, '--mappings', emptyMappings, '--upstream', target,
    '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${admin}`, '--log-level', 'warn',
    ...(transport === 'grpc-js' ? ['--upstream-transport', 'grpc-js'] : []),
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTACHE_') && k !== 'GRPC_TARGET' && k !== 'NODE_OPTIONS'));
  const child = spawn(process.execPath, argv, { cwd: path.resolve(DIST, '..'), env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let out = '';
  child.stdout.on('data', (d) => (out = (out + d).slice(-20000)));
  child.stderr.on('data', (d) => (out = (out + d).slice(-20000)));
  children.add(child);
  child.once('exit', () => children.delete(child));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`attache exited (${child.exitCode}):\n${out}`);
    try {
      const r = await fetch(`http://127.0.0.1:${admin}/readyz`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) return { child, port, mappings: emptyMappings };
    } catch {
      /* not yet */
    }
    await sleep(50);
  }
  throw new Error(`attache not ready after 15 s:\n${out}`);
}

/** One probe command to the attache child and its answer. */
function probe(child, cmd) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`probe ${cmd}: no answer`)), 10_000);
    const on = (m) => {
      if (m?.probe !== cmd) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send({ probe: cmd });
  });
}

function status(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** One request of `kind`; resolves with the body, rejects on a non-200, a wrong body or after 30 s. */
function request(port, kind, hold = 0) {
  return new Promise((resolve, reject) => {
    const post = kind === 'post';
    const req = http.request(
      { host: '127.0.0.1', port, agent, method: post ? 'POST' : 'GET', path: post ? '/v1/large:ingest' : `/v1/large/${kind}${hold > 0 ? `@${hold}` : ''}`, headers: post ? { 'content-type': 'application/json', 'content-length': postBody.length, 'grpc-timeout': '60S' } : { 'grpc-timeout': '60S' }, timeout: 30_000 },
      (res) => {
        const parts = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => {
          const body = Buffer.concat(parts);
          if (res.statusCode !== 200) return reject(new Error(`${kind}: HTTP ${res.statusCode} ${body.subarray(0, 300)}`));
          if (post ? JSON.parse(body).items !== 10000 : !body.equals(expected[kind])) return reject(new Error(`${kind}: the body differs from the expected JSON (${body.length} vs ${expected[kind].length} bytes)`));
          resolve(body.length);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${kind}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(post ? postBody : undefined);
  });
}

/** utime + stime of `pid` in µs (/proc/PID/stat, clock ticks of 10 ms). */
function cpuMicros(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

/** Heap bytes allocated and CPU µs per request over `count` sequential requests. */
async function allocPerRequest(a, kind, count) {
  await probe(a.child, 'begin');
  const cpu0 = cpuMicros(a.child.pid);
  for (let i = 0; i < count; i++) await request(a.port, kind);
  const cpu = cpuMicros(a.child.pid) - cpu0;
  const { allocated } = await probe(a.child, 'end');
  return { alloc: allocated / count, cpu: cpu / count };
}

/** `n` concurrent requests held together by the backend: RSS before, peak RSS (VmHWM), and their difference / n. */
async function inFlight(a, kind, n) {
  await probe(a.child, 'rss');
  await sleep(100);
  const before = status(a.child.pid).rss;
  fs.writeFileSync(`/proc/${a.child.pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  await Promise.all(Array.from({ length: n }, () => request(a.port, kind, kind === 'post' ? 0 : HOLD)));
  const peak = status(a.child.pid).hwm;
  return { before, peak, perRequest: (peak - before) / n };
}

async function stopAttache(a) {
  a.child.kill('SIGTERM');
  await new Promise((r) => (a.child.exitCode !== null ? r() : a.child.once('exit', r)));
  fs.rmSync(a.mappings, { recursive: true, force: true });
}

/**
 * The in-flight figure of one size on a fresh attache (ready, then 3 requests of that size), so that free
 * heap left by an earlier measure does not hide what this one needs.
 */
async function freshInFlight(transport, kind, n) {
  const a = await startAttache(transport);
  try {
    for (let i = 0; i < 3; i++) await request(a.port, kind);
    const ready = (await probe(a.child, 'rss')).memory.rss;
    return { ready, ...(await inFlight(a, kind, n)) };
  } finally {
    await stopAttache(a);
  }
}

const rows = [];
for (const transport of TRANSPORTS) {
  const a = await startAttache(transport);
  const cost = {};
  try {
    for (const kind of SIZE_LIST) for (let i = 0; i < 3; i++) await request(a.port, kind); // warm-up
    for (const kind of SIZE_LIST) cost[kind] = await allocPerRequest(a, kind, REPEAT[kind]);
  } finally {
    await stopAttache(a);
  }
  for (const kind of SIZE_LIST) {
    const json = expected[kind === 'post' ? 'large' : kind].length;
    const { alloc, cpu } = cost[kind];
    const fl = await freshInFlight(transport, kind, N);
    rows.push({ transport, kind, json, alloc, cpu, ...fl, n: N });
    process.stderr.write(`${transport} ${kind}: JSON ${json} B, heap allocated ${alloc.toFixed(0)} B/req (${(alloc / json).toFixed(2)}× JSON), CPU ${cpu.toFixed(0)} µs/req; ${N} in flight: RSS ${MiB(fl.before)} → peak ${MiB(fl.peak)} MiB, ${MiB(fl.perRequest)} MiB/req (${(fl.perRequest / json).toFixed(2)}× JSON)\n`);
  }
  for (const kind of ['large', 'post'].filter((k) => SIZE_LIST.includes(k))) {
    const fl = await freshInFlight(transport, kind, INFLIGHT);
    const json = expected[kind === 'post' ? 'large' : kind].length;
    rows.push({ transport, kind: `${kind} ×${INFLIGHT}`, json, alloc: NaN, cpu: NaN, ...fl, n: INFLIGHT });
    process.stderr.write(`${transport} ${kind} ×${INFLIGHT} (${MiB(json * INFLIGHT)} MiB of JSON in flight): RSS ${MiB(fl.before)} → peak ${MiB(fl.peak)} MiB (+${MiB(fl.peak - fl.before)}; ${(fl.perRequest / json).toFixed(2)}× JSON per request)\n`);
  }
}
agent.destroy();
await stopAll();

const lines = [
  `Large messages (\`node bench/large-messages.mjs ${process.argv.slice(2).join(' ')}\`), build ${path.relative(REPO_DIR, DIST) || DIST}, ${new Date().toISOString()}`,
  '',
  '| transport | message | JSON bytes | heap allocated / req | × JSON | CPU µs / req | in flight | RSS before → peak (MiB) | transient / req | × JSON |',
  '|---|---|---:|---:|---:|---:|---:|---|---:|---:|',
  ...rows.map((r) => `| ${r.transport} | ${r.kind} | ${r.json} | ${Number.isNaN(r.alloc) ? '–' : `${(r.alloc / 1024).toFixed(1)} KiB`} | ${Number.isNaN(r.alloc) ? '–' : (r.alloc / r.json).toFixed(2)} | ${Number.isNaN(r.cpu) ? '–' : r.cpu.toFixed(0)} | ${r.n} | ${MiB(r.before)} → ${MiB(r.peak)} | ${MiB(r.perRequest)} MiB | ${r.json < 4096 ? '– (page noise)' : (r.perRequest / r.json).toFixed(2)} |`),
  '',
];
process.stdout.write(lines.join('\n'));
if (OUT !== '') fs.writeFileSync(OUT, lines.join('\n'));
