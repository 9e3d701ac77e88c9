/**
 * Soak: a bounded mixed load of unary and streaming calls on loopback through a real attache process (the
 * bundled CLI) to a real backend behind a TCP proxy, with faults injected while it runs — connections reset,
 * the backend killed and restarted on its port. 30 s measured after a warm-up (see WARMUP_S) in CI; `npm run soak` measures 5 minutes
 * (ATTACHE_SOAK_SECONDS, ATTACHE_SOAK_WARMUP_SECONDS).
 *
 * Properties: attache never crashes; every request is accounted for (answered, with a status the fault
 * explains, or cleanly failed by attache; none hanging past its client timeout); open file descriptors
 * after the load are back near where they were before it (no leaked sockets); what survives a full
 * collection at the end (the JS heap, Buffers, and RSS) is within 10% of what survived one at the end of the
 * warm-up. The collections run in attache through its inspector (test/support/inspector.ts): RSS sampled
 * under load moves with when V8 chooses to collect (on Node 24 the old generation can grow 15 MiB over 30 s
 * of this load before V8 collects it), which is not a leak; what survives a full collection is.
 */
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, E2E_STREAMING_MAPPINGS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { collectedMemory, inspectorUrl, type CollectedMemory } from '../support/inspector.js';
import { CLI, ensureBuilt, freePort, spawnCollected, type Spawned } from '../support/process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const SECONDS = Number(process.env['ATTACHE_SOAK_SECONDS'] ?? 30);
/**
 * Load before the measured part, so that what fills once (connection pools, lazily compiled routes and
 * codecs, V8's code) is in the baseline that the end is compared with.
 */
const WARMUP_S = Number(process.env['ATTACHE_SOAK_WARMUP_SECONDS'] ?? 15);
const CONCURRENCY = 16;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let backend: TestServer;
let backendPort = 0;
let proxy: TcpProxy;
let attache: Spawned;
let port = 0;
let adminPort = 0;
let inspector = '';

beforeAll(async () => {
  ensureBuilt();
  backend = await startTestServer();
  backendPort = backend.port;
  proxy = await startTcpProxy(backendPort);
  [port, adminPort] = [await freePort(), await freePort()];
  attache = spawnCollected(process.execPath, [
    '--inspect=127.0.0.1:0', CLI, '--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--mappings', E2E_STREAMING_MAPPINGS_DIR, '--upstream', proxy.target,
    '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--log-level', 'warn',
    '--reconnect-backoff-initial', '100ms', '--reconnect-backoff-max', '500ms',
  ]);
  for (let i = 0; i < 300; i++) {
    const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) {
      inspector = await inspectorUrl(attache);
      return;
    }
    await sleep(50);
  }
  throw new Error(`attache did not become ready: ${attache.output()}`);
}, 60_000);
afterAll(async () => {
  attache?.kill();
  await proxy?.close();
  await backend?.close();
});

/** One request of the mix: its path, and the statuses that are right for it whatever the faults. */
interface Kind {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly path: () => string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** Right answers while the upstream is healthy; 503/504 are also right while a fault is on. */
  readonly ok: readonly number[];
}
let n = 0;
const KINDS: readonly Kind[] = [
  { name: 'get', method: 'GET', path: () => `/v1/echo/g${++n}`, ok: [200] },
  { name: 'post', method: 'POST', path: () => '/v1/echo', body: '{"id":"p","count":"3"}', ok: [200] },
  { name: 'bad-json', method: 'POST', path: () => '/v1/echo', body: '{"id":', ok: [400] },
  { name: 'not-found', method: 'GET', path: () => '/v1/nothing/here', ok: [404] },
  { name: 'upstream-error', method: 'GET', path: () => '/v1/fail/5', ok: [404] },
  { name: 'deadline', method: 'GET', path: () => '/v1/slow/300', headers: { 'x-request-timeout': '50ms' }, ok: [504] },
  // Streams: a fault after the first message is an error line in a 200 body, so 200 is right either way.
  { name: 'server-stream', method: 'GET', path: () => '/v1/stream?count=20', ok: [200] },
  {
    name: 'client-stream', method: 'POST', path: () => '/v1/collect', ok: [200],
    body: Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `c${i}` })).join('\n'), headers: { 'content-type': 'application/x-ndjson' },
  },
];

function send(k: Kind): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: k.method, path: k.path(), headers: { ...(k.body !== undefined ? { 'content-type': 'application/json' } : {}), ...k.headers }, agent: false, timeout: 20_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(-1));
    });
    // Past the longest deadline a call here can have (the default 15 s): attache never answered.
    req.on('timeout', () => req.destroy(new Error('hung')));
    req.on('error', (e) => resolve(e.message === 'hung' ? -2 : -1));
    req.end(k.body);
  });
}

const fds = (pid: number): number => fs.readdirSync(`/proc/${pid}/fd`).length;
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe(`soak: ${SECONDS} s of mixed load with faults, after a warm-up`, () => {
  it('no crash, every request accounted for, no leaked descriptors, what survives a full collection flat after warm-up', async () => {
    const pid = attache.child.pid!;
    const fds0 = fds(pid);
    const counts = new Map<string, number>();
    const wrong: string[] = [];
    let faultOn = false;
    let faults = 0;
    let rssWarm = 0;
    let warmMemory: CollectedMemory | undefined;
    const t0 = Date.now();
    // Set when the warm-up ends (below); the load and the faults run until then.
    let end = t0 + (WARMUP_S + 60 + SECONDS) * 1000;
    let warmS = 0;

    const faultLoop = (async () => {
      let i = 0;
      while (Date.now() < end - 3000) {
        await sleep(2000);
        faultOn = true;
        faults++;
        if (i++ % 3 === 2) {
          // The backend dies and comes back on its port a second later.
          await backend.close();
          await sleep(1000);
          backend = await startTestServer({ port: backendPort });
        } else {
          proxy.cut();
        }
        // Answers within this window may carry the fault (503/504/499): the fault itself, then the circuit
        // breaker's open time (5 s) if the failures opened it and its early probe came too soon.
        await sleep(6000);
        faultOn = false;
      }
    })();
    const samples: number[] = [];
    const warm = (async () => {
      await sleep(WARMUP_S * 1000);
      rssWarm = rssMiB(pid);
      warmMemory = await collectedMemory(inspector);
      warmS = Math.round((Date.now() - t0) / 1000);
      end = Date.now() + SECONDS * 1000;
      while (Date.now() < end) {
        samples.push(Math.round(rssMiB(pid)));
        await sleep(2000);
      }
    })();
    const workers = Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = w; Date.now() < end; i++) {
        const k = KINDS[i % KINDS.length]!;
        const during = faultOn;
        const status = await send(k);
        const key = `${k.name} ${status}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        // During a fault: the upstream unavailable (503), a call cut by it (504, or 499 when the dying server
        // cancelled it with RST_STREAM CANCEL).
        const excused = (during || faultOn) && (status === 503 || status === 504 || status === 499);
        if (!k.ok.includes(status) && !excused) wrong.push(key);
      }
    });
    await Promise.all([faultLoop, warm, ...workers]);

    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    await sleep(1500); // keep-alive and upstream sockets settle
    const fds1 = fds(pid);
    const endMemory = await collectedMemory(inspector);
    const mib = (m: CollectedMemory): string =>
      `heap ${(m.heapUsed / 2 ** 20).toFixed(1)}, external ${(m.external / 2 ** 20).toFixed(1)}, RSS ${(m.rss / 2 ** 20).toFixed(1)} MiB`;
    console.log(
      `soak: ${warmS} s warm-up + ${SECONDS} s, ${total} requests (${Math.round(total / (warmS + SECONDS))}/s), ${faults} faults; ` +
        `fds ${fds0} → ${fds1}; after a full collection: warm-up (${mib(warmMemory!)}) → end (${mib(endMemory)}); ` +
        `RSS under load after warm-up ${rssWarm.toFixed(1)} MiB, then every 2 s: ${samples.join(' ')}; ` +
        `${JSON.stringify(Object.fromEntries([...counts].sort()))}`,
    );
    expect(attache.child.exitCode).toBeNull();
    expect(wrong.filter((w) => w.endsWith(' -2'))).toEqual([]); // none hung
    expect(wrong.slice(0, 20)).toEqual([]);
    expect(fds1).toBeLessThanOrEqual(fds0 + 4);
    // A MiB of slack on top of the 10% for the heap and Buffers: pools and caches that fill once.
    expect(endMemory.heapUsed).toBeLessThan(warmMemory!.heapUsed * 1.1 + 2 ** 20);
    expect(endMemory.external).toBeLessThan(warmMemory!.external * 1.1 + 2 ** 20);
    expect(endMemory.rss).toBeLessThan(warmMemory!.rss * 1.1);
    expect((await fetch(`http://127.0.0.1:${adminPort}/healthz`)).status).toBe(200);
  }, (WARMUP_S + SECONDS + 120) * 1000);
});
