/**
 * The circuit breaker and the bulkhead per upstream, end to end against a real grpc-js server:
 * refused calls never reach it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestAttache } from '../support/attache.js';
import { startFlakyServer, type FlakyServer } from '../support/flaky-server.js';
import { request } from '../support/http.js';
import { startResAttache, tempDir, writeMapping } from '../support/resilience.js';

const UNAVAILABLE = 14;
const INVALID_ARGUMENT = 3;
let n = 0;
const key = (label: string): string => `${label}-${++n}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('circuit breaker', () => {
  let server: FlakyServer;
  let attache: TestAttache | undefined;
  const tmp = tempDir();
  beforeAll(async () => {
    server = await startFlakyServer();
  });
  afterEach(async () => {
    await attache?.stop();
    attache = undefined;
  });
  afterAll(async () => {
    await server?.close();
    tmp.cleanup();
  });

  /** Retries off, so one HTTP call is one upstream attempt and the counts below are exact. */
  const start = (breaker: string): Promise<TestAttache> =>
    startResAttache(writeMapping(tmp.dir, `attache:\n  rules:\n    - selector: "res.v1.*"\n      retry: false\n      breaker: ${breaker}\n`, `${key('m')}.yaml`), server.target);
  const fail = (k: string) => request(`${attache!.url}/v1/get/${k}?failTimes=1000&code=${UNAVAILABLE}`);
  const succeed = (k: string) => request(`${attache!.url}/v1/get/${k}`);

  it('opens after consecutive failures, answers 503 at once without reaching the server, half-opens and closes', async () => {
    attache = await start('{ consecutiveFailures: 3, openTime: 400ms }');
    const k = key('open');
    for (let i = 0; i < 3; i++) expect((await fail(k)).status).toBe(503);
    expect(server.attempts(k)).toBe(3);

    const t0 = Date.now();
    const refused = await fail(k);
    expect(Date.now() - t0).toBeLessThan(100);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(refused.json).toMatchObject({ code: UNAVAILABLE, details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo' }] });
    expect((refused.json as { message: string }).message).toMatch(/circuit breaker .* is open/);
    expect(server.attempts(k)).toBe(3); // never reached the server
    // /metrics shows it open (1).
    const metrics = await (await fetch(`${attache.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^attache_circuit_breaker_state\\{upstream="[^"]*${server.port}"\\} 1$`, 'm'));

    // Also while open: a healthy key is refused too (the breaker is per upstream).
    const healthy = key('healthy');
    expect((await succeed(healthy)).status).toBe(503);
    expect(server.attempts(healthy)).toBe(0);

    await sleep(450);
    // Half-open: one probe goes through; it succeeds, so the breaker closes.
    const probe = await succeed(healthy);
    expect(probe.status).toBe(200);
    expect(server.attempts(healthy)).toBe(1);
    for (let i = 0; i < 3; i++) expect((await succeed(healthy)).status).toBe(200);
    expect(server.attempts(healthy)).toBe(4);
  });

  it('a failed half-open probe opens it again', async () => {
    attache = await start('{ consecutiveFailures: 2, openTime: 300ms }');
    const k = key('reopen');
    await fail(k);
    await fail(k);
    await sleep(350);
    expect((await fail(k)).status).toBe(503); // the probe reaches the server and fails
    expect(server.attempts(k)).toBe(3);
    expect((await fail(k)).status).toBe(503); // open again: refused
    expect(server.attempts(k)).toBe(3);
  });

  it('opens on the failure ratio over the window', async () => {
    attache = await start('{ consecutiveFailures: 1000, failureRatio: 0.5, minimumCalls: 10, window: 10s, openTime: 5s }');
    const k = key('ratio');
    // Alternate success and failure: never 2 failures in a row, but half of all calls fail.
    for (let i = 0; i < 10; i++) await (i % 2 === 0 ? succeed(key('ok')) : fail(k));
    const before = server.total();
    expect((await succeed(key('after'))).status).toBe(503);
    expect(server.total()).toBe(before);
  });

  it("a caller's own short deadline running out does not count: it is the caller's impatience, not the upstream failing", async () => {
    attache = await start('{ consecutiveFailures: 3, openTime: 5s }');
    for (let i = 0; i < 5; i++) {
      const r = await request(`${attache.url}/v1/get/${key('impatient')}?sleepMs=300`, { headers: { 'x-request-timeout': '50ms' } });
      expect(r.status).toBe(504);
    }
    expect((await succeed(key('after'))).status).toBe(200);
  });

  it('client errors do not count', async () => {
    attache = await start('{ consecutiveFailures: 2 }');
    const k = key('client');
    for (let i = 0; i < 6; i++) {
      const res = await request(`${attache.url}/v1/get/${k}?failTimes=1000&code=${INVALID_ARGUMENT}`);
      expect(res.status).toBe(400);
    }
    expect(server.attempts(k)).toBe(6);
  });
});

describe('circuit breaker and an upstream restart', () => {
  it('the default breaker probes as soon as the connection is READY again: a restart costs well under its open time', async () => {
    let server = await startFlakyServer();
    const port = server.port;
    const tmp = tempDir();
    // The default breaker (5 failures, 5 s open) and fast reconnects; retries off so each request is one call.
    const a = await startResAttache(writeMapping(tmp.dir, 'attache:\n  rules:\n    - selector: "res.v1.*"\n      retry: false\n'), server.target, [
      '--reconnect-backoff-initial', '100ms', '--reconnect-backoff-max', '200ms',
    ]);
    try {
      expect((await request(`${a.url}/v1/get/${key('up')}`)).status).toBe(200);
      await server.close();
      for (let i = 0; i < 8; i++) await request(`${a.url}/v1/get/${key('down')}`);
      const open = await request(`${a.url}/v1/get/${key('open')}`);
      expect(open.status).toBe(503);
      expect(open.body).toContain('circuit breaker');
      server = await startFlakyServer({ port });
      const t0 = Date.now();
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await request(`${a.url}/v1/get/${key('back')}`)).status;
        if (status !== 200) await sleep(20);
      }
      const ms = Date.now() - t0;
      expect(status).toBe(200);
      expect(ms).toBeLessThan(1500); // the open time is 5 s
    } finally {
      await a.stop();
      await server.close();
      tmp.cleanup();
    }
  });
});

describe('bulkhead', () => {
  let server: FlakyServer;
  let attache: TestAttache;
  const tmp = tempDir();
  beforeAll(async () => {
    server = await startFlakyServer();
    attache = await startResAttache(
      writeMapping(tmp.dir, 'attache:\n  rules:\n    - selector: "res.v1.*"\n      bulkhead: { maxConcurrent: 2, maxQueue: 1 }\n'),
      server.target,
    );
  });
  afterAll(async () => {
    await attache?.stop();
    await server?.close();
    tmp.cleanup();
  });

  it('answers 503 (RESOURCE_EXHAUSTED) at once on overflow while in-flight and queued calls complete', async () => {
    const slow = [key('slow'), key('slow'), key('queued')].map((k) => request(`${attache.url}/v1/get/${k}?sleepMs=600`));
    // Let the three reach attache: two in flight, one queued.
    for (let i = 0; i < 50 && server.total() < 2; i++) await sleep(10);
    await sleep(50);
    const t0 = Date.now();
    const overflow = await request(`${attache.url}/v1/get/${key('overflow')}`);
    expect(Date.now() - t0).toBeLessThan(200);
    expect(overflow.status).toBe(503);
    expect(overflow.json).toMatchObject({ code: 8, details: [] });
    expect((overflow.json as { message: string }).message).toMatch(/too many concurrent calls/);

    const done = await Promise.all(slow);
    expect(done.map((r) => r.status)).toEqual([200, 200, 200]);
    // With the slots free again, calls go through.
    expect((await request(`${attache.url}/v1/get/${key('later')}`)).status).toBe(200);
  });
});

describe('bulkhead and the drain', () => {
  it('a call still waiting for a slot when the drain times out is answered 503 at once, not at its deadline', async () => {
    const server = await startFlakyServer();
    const tmp = tempDir();
    const attache = await startResAttache(
      writeMapping(tmp.dir, 'attache:\n  rules:\n    - selector: "res.v1.*"\n      bulkhead: { maxConcurrent: 1, maxQueue: 1 }\n'),
      server.target,
      ['--drain-timeout', '200ms'],
    );
    try {
      const inflight = request(`${attache.url}/v1/get/${key('drain-slow')}?sleepMs=5000`);
      for (let i = 0; i < 50 && server.total() < 1; i++) await sleep(10);
      const queued = request(`${attache.url}/v1/get/${key('drain-queued')}`, { headers: { 'grpc-timeout': '10S' } });
      await sleep(50);
      const t0 = Date.now();
      await attache.stop();
      expect(Date.now() - t0).toBeLessThan(2000);
      const [a, b] = await Promise.all([inflight, queued]);
      expect(a.status).toBe(503);
      expect(b.status).toBe(503);
      expect((b.json as { code: number; message: string }).code).toBe(14);
      expect((b.json as { message: string }).message).toMatch(/shutting down/);
    } finally {
      await attache.stop();
      await server.close();
      tmp.cleanup();
    }
  });
});
