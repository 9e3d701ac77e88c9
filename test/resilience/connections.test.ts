/**
 * Connection-level resilience: reconnecting to an upstream restarted on the same port, detecting a
 * black-holed upstream by keepalive (gRFC A8), starting while the upstream is down, and /readyz policies.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { TestAttache } from '../support/attache.js';
import { startFlakyServer, type FlakyServer } from '../support/flaky-server.js';
import { request } from '../support/http.js';
import { freePort } from '../support/process.js';
import { startResAttache, tempDir, writeMapping } from '../support/resilience.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

let n = 0;
const key = (label: string): string => `${label}-${++n}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 50 ms until it returns true; at most `maxMs`. Returns the time it took, or -1. */
async function until(probe: () => Promise<boolean>, maxMs: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < maxMs) {
    if (await probe()) return Date.now() - t0;
    await sleep(50);
  }
  return -1;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const mapping = (body = ''): string => writeMapping(tmp.dir, body, `${key('m')}.yaml`);

async function attacheFor(target: string, flags: string[] = [], body = ''): Promise<TestAttache> {
  const a = await startResAttache(mapping(body), target, flags);
  cleanups.push(() => a.stop());
  return a;
}
async function server(port = 0): Promise<FlakyServer> {
  const s = await startFlakyServer({ port });
  cleanups.push(() => s.close());
  return s;
}

describe('upstream down and restarted', () => {
  it('starts while the upstream is down and answers 503 fast', async () => {
    const port = await freePort();
    const a = await attacheFor(`127.0.0.1:${port}`);
    const t0 = Date.now();
    const res = await request(`${a.url}/v1/get/${key('down')}`);
    expect(res.status).toBe(503);
    expect((res.json as { code: number }).code).toBe(14);
    // Three attempts with 100 ms-class jittered backoff, each refused at once.
    expect(Date.now() - t0).toBeLessThan(1500);
    expect((await request(`${a.adminUrl}/readyz`)).status).toBe(200); // readiness ignores upstreams by default
  });

  it('reconnects to an upstream restarted on the same port', async () => {
    const first = await startFlakyServer();
    const port = first.port;
    const a = await attacheFor(first.target, ['--reconnect-backoff-initial', '100ms', '--reconnect-backoff-max', '300ms', '--breaker=false']);
    expect((await request(`${a.url}/v1/get/${key('before')}`)).status).toBe(200);
    await first.close();
    expect((await request(`${a.url}/v1/get/${key('during')}`)).status).toBe(503);
    const second = await server(port);
    const took = await until(async () => (await request(`${a.url}/v1/get/${key('after')}`)).status === 200, 5000);
    expect(took).toBeGreaterThanOrEqual(0);
    expect(second.total()).toBeGreaterThan(0);
  });
});

describe('load balancing', () => {
  it('round_robin spreads calls over a static list of addresses (ipv4:a,b)', async () => {
    const one = await server();
    const two = await server();
    const a = await attacheFor(`ipv4:127.0.0.1:${one.port},127.0.0.1:${two.port}`);
    // round_robin connects to every address first; give both subchannels a moment to become READY.
    await until(async () => {
      await request(`${a.url}/v1/get/${key('warm')}`);
      return one.total() > 0 && two.total() > 0;
    }, 3000);
    const before = [one.total(), two.total()];
    for (let i = 0; i < 10; i++) expect((await request(`${a.url}/v1/get/${key('rr')}`)).status).toBe(200);
    expect(one.total() - before[0]!).toBe(5);
    expect(two.total() - before[1]!).toBe(5);
  });

  it('a dns:/// target (a Kubernetes headless service) resolves and serves', async () => {
    const s = await server();
    const a = await attacheFor(`dns:///localhost:${s.port}`);
    expect((await request(`${a.url}/v1/get/${key('dns')}`)).status).toBe(200);
  });
});

describe('black-holed upstream', () => {
  it('keepalive detects a connection gone silent: the in-flight call fails UNAVAILABLE in seconds, not at its deadline', async () => {
    const s = await server();
    const proxy: TcpProxy = await startTcpProxy(s.port);
    cleanups.push(() => proxy.close());
    // Short keepalive, and an upstream that permits a ping a second, so the test takes seconds. With the
    // defaults a waiting call pings after 20 s of silence and gives up 20 s later (grpc-js: after 310 s).
    const a = await attacheFor(proxy.target, ['--keepalive-time', '1s', '--keepalive-timeout', '1s', '--keepalive-server-min-time', '1s', '--breaker=false'], 'attache:\n  rules:\n    - selector: "res.v1.*"\n      retry: false\n');
    expect((await request(`${a.url}/v1/get/${key('warm')}`)).status).toBe(200);
    const pending = request(`${a.url}/v1/get/${key('hung')}?sleepMs=30000`, { headers: { 'x-request-timeout': '20s' }, timeoutMs: 25_000 });
    await sleep(100);
    proxy.freeze();
    const t0 = Date.now();
    const res = await pending;
    const ms = Date.now() - t0;
    expect(res.status).toBe(503);
    expect((res.json as { code: number }).code).toBe(14);
    expect(ms).toBeLessThan(6000);
  });

  it('a server that accepts TCP and never answers: calls end at their deadline (504) or UNAVAILABLE, never hang', async () => {
    const hole = await startTcpProxy(undefined, true);
    cleanups.push(() => hole.close());
    const a = await attacheFor(hole.target, ['--keepalive-time', '1s', '--keepalive-timeout', '1s']);
    const t0 = Date.now();
    const res = await request(`${a.url}/v1/get/${key('void')}`, { headers: { 'x-request-timeout': '1500ms' } });
    expect([503, 504]).toContain(res.status);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe('readiness policies', () => {
  it('channel: 503 until the upstream is connected, then 200', async () => {
    const port = await freePort();
    const a = await attacheFor(`127.0.0.1:${port}`, ['--readiness', 'channel', '--reconnect-backoff-initial', '100ms', '--reconnect-backoff-max', '200ms']);
    const down = await request(`${a.adminUrl}/readyz`);
    expect(down.status).toBe(503);
    expect(down.json).toMatchObject({ upstreams: { [`grpc://127.0.0.1:${port}`]: expect.any(String) } });
    await server(port);
    expect(await until(async () => (await request(`${a.adminUrl}/readyz`)).status === 200, 5000)).toBeGreaterThanOrEqual(0);
  });

  it('health: follows grpc.health.v1 SERVING / NOT_SERVING', async () => {
    const s = await server();
    s.setHealth(2);
    const a = await attacheFor(s.target, ['--readiness', 'health', '--health-interval', '100ms']);
    await sleep(300);
    const notServing = await request(`${a.adminUrl}/readyz`);
    expect(notServing.status).toBe(503);
    expect(notServing.json).toMatchObject({ upstreams: { [`grpc://${s.target}`]: 'NOT_SERVING' } });
    s.setHealth(1);
    expect(await until(async () => (await request(`${a.adminUrl}/readyz`)).status === 200, 3000)).toBeGreaterThanOrEqual(0);
  });
});
