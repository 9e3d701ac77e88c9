/**
 * Retries and hedging through grpc-js's service config, tied to method safety, against a real
 * flaky grpc-js server on loopback that counts attempts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestAttache } from '../support/attache.js';
import { startFlakyServer, type FlakyServer } from '../support/flaky-server.js';
import { request } from '../support/http.js';
import { startResAttache, tempDir, writeMapping } from '../support/resilience.js';

const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;
const FAILED_PRECONDITION = 9;
const RESOURCE_EXHAUSTED = 8;

let server: FlakyServer;
let attache: TestAttache;
const tmp = tempDir();
let n = 0;
const key = (label: string): string => `${label}-${++n}`;

beforeAll(async () => {
  server = await startFlakyServer();
  // Every method may retry DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED as configured; policy.ts drops them for
  // the unsafe POST, because the selector is a wildcard. The breaker stays out of the way.
  const mapping = writeMapping(tmp.dir, `attache:
  rules:
    - selector: "res.v1.*"
      retry: { retryableStatusCodes: [UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED] }
      breaker: false
`);
  // A roomy retry-throttling bucket: these cases fail on purpose and must not throttle each other.
  attache = await startResAttache(mapping, server.target, ['--retry-throttle-max-tokens', '1000']);
});
afterAll(async () => {
  await attache?.stop();
  await server?.close();
  tmp.cleanup();
});

describe('retries (gRFC A6 retryPolicy via grpc-js)', () => {
  it('retries UNAVAILABLE: fails twice, then 200 on the third attempt', async () => {
    const k = key('unavail');
    const res = await request(`${attache.url}/v1/get/${k}?failTimes=2&code=${UNAVAILABLE}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ key: k, attempt: 3 });
    expect(server.attempts(k)).toBe(3);
  });

  it('gives up after maxAttempts (3) and answers 503', async () => {
    const k = key('exhausted');
    const res = await request(`${attache.url}/v1/get/${k}?failTimes=5&code=${UNAVAILABLE}`);
    expect(res.status).toBe(503);
    expect((res.json as { code: number }).code).toBe(UNAVAILABLE);
    expect(server.attempts(k)).toBe(3);
  });

  it('does not retry a non-retryable code', async () => {
    const k = key('precondition');
    const res = await request(`${attache.url}/v1/get/${k}?failTimes=1&code=${FAILED_PRECONDITION}`);
    expect(res.status).toBe(400);
    expect(server.attempts(k)).toBe(1);
  });

  it.each([
    ['GET (safe by its binding)', 'get', 'GET', 200, 2],
    ['POST marked IDEMPOTENT (safe by its proto)', 'idem', 'POST', 200, 2],
    ['POST (unsafe): never retried on DEADLINE_EXCEEDED', 'post', 'POST', 504, 1],
  ])('DEADLINE_EXCEEDED from the upstream, %s', async (_label, path, method, status, attempts) => {
    const k = key(`de-${path}`);
    const body = method === 'POST' ? { failTimes: 1, code: DEADLINE_EXCEEDED } : undefined;
    const url = method === 'GET' ? `${attache.url}/v1/${path}/${k}?failTimes=1&code=${DEADLINE_EXCEEDED}` : `${attache.url}/v1/${path}/${k}`;
    const res = await request(url, { method, body });
    expect(res.status).toBe(status);
    expect(server.attempts(k)).toBe(attempts);
  });

  it('RESOURCE_EXHAUSTED is retried for a safe method only', async () => {
    const get = key('re-get');
    expect((await request(`${attache.url}/v1/get/${get}?failTimes=1&code=${RESOURCE_EXHAUSTED}`)).status).toBe(200);
    expect(server.attempts(get)).toBe(2);
    const post = key('re-post');
    expect((await request(`${attache.url}/v1/post/${post}`, { method: 'POST', body: { failTimes: 1, code: RESOURCE_EXHAUSTED } })).status).toBe(429);
    expect(server.attempts(post)).toBe(1);
  });

  it('POST is still retried on UNAVAILABLE (the contract default for every method)', async () => {
    const k = key('post-unavail');
    const res = await request(`${attache.url}/v1/post/${k}`, { method: 'POST', body: { failTimes: 1, code: UNAVAILABLE } });
    expect(res.status).toBe(200);
    expect(server.attempts(k)).toBe(2);
  });
});

describe('per-try timeout and hedging (safe methods only)', () => {
  let s: FlakyServer;
  let a: TestAttache;
  const dir = tempDir();
  beforeAll(async () => {
    s = await startFlakyServer();
    const mapping = writeMapping(dir.dir, `attache:
  rules:
    - selector: res.v1.Flaky.Get
      retry: { maxAttempts: 3, perTryTimeout: 200ms, initialBackoff: 10ms }
    - selector: res.v1.Flaky.Idem
      hedging: { maxAttempts: 3, hedgingDelay: 100ms }
    - selector: "res.v1.*"
      breaker: false
`);
    a = await startResAttache(mapping, s.target);
  });
  afterAll(async () => {
    await a?.stop();
    await s?.close();
    dir.cleanup();
  });

  it('a hung first attempt is cut at the per-try timeout and the second attempt answers', async () => {
    const k = key('pertry');
    const t0 = Date.now();
    const res = await request(`${a.url}/v1/get/${k}?hangTimes=1`, { headers: { 'x-request-timeout': '5s' } });
    const ms = Date.now() - t0;
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ attempt: 2 });
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(2000);
  });

  it('the per-try timeout never extends the caller deadline', async () => {
    const k = key('pertry-budget');
    const t0 = Date.now();
    const res = await request(`${a.url}/v1/get/${k}?hangTimes=10`, { headers: { 'x-request-timeout': '300ms' } });
    expect(res.status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(server.attempts(k) + s.attempts(k)).toBeLessThanOrEqual(3);
  });

  it('hedging: a hung first attempt is overtaken by a hedge sent after hedgingDelay', async () => {
    const k = key('hedge');
    const t0 = Date.now();
    const res = await request(`${a.url}/v1/idem/${k}`, { method: 'POST', body: { hangTimes: 1 }, headers: { 'x-request-timeout': '5s' } });
    expect(res.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(s.attempts(k)).toBeGreaterThanOrEqual(2);
  });
});

describe('retry throttling (gRFC A6): a dead upstream cannot cause a retry storm', () => {
  let s: FlakyServer;
  let a: TestAttache;
  const dir = tempDir();
  beforeAll(async () => {
    s = await startFlakyServer();
    const mapping = writeMapping(dir.dir, `attache:
  rules:
    - selector: "res.v1.*"
      retry: { initialBackoff: 5ms, maxBackoff: 10ms }
      breaker: false
`);
    a = await startResAttache(mapping, s.target);
  });
  afterAll(async () => {
    await a?.stop();
    await s?.close();
    dir.cleanup();
  });

  it('stops retrying once most calls fail (maxTokens 10, tokenRatio 0.1)', async () => {
    const calls = 20;
    const perCall: number[] = [];
    for (let i = 0; i < calls; i++) {
      const k = key('throttle');
      const res = await request(`${a.url}/v1/get/${k}?failTimes=100&code=${UNAVAILABLE}`);
      expect(res.status).toBe(503);
      perCall.push(s.attempts(k));
    }
    // Unthrottled, 20 calls × 3 attempts = 60. The bucket starts at 10 tokens, each failed attempt takes one
    // and retries stop at or below half: only the first few calls are retried.
    expect(perCall.slice(0, 1)).toEqual([3]);
    expect(perCall.slice(-10)).toEqual(Array(10).fill(1));
    expect(s.total()).toBeLessThan(calls + 10);
  });
});

describe('load-time checks', () => {
  it('an exact selector asking a POST to retry DEADLINE_EXCEEDED fails start-up (and --check)', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const { buildSnapshot } = await import('../../src/snapshot.js');
    const { RES_PROTOS_DIR } = await import('../support/flaky-server.js');
    const dir = tempDir();
    const file = writeMapping(dir.dir, 'attache:\n  rules:\n    - selector: res.v1.Flaky.Post\n      retry: { retryableStatusCodes: [DEADLINE_EXCEEDED] }\n    - selector: res.v1.Flaky.Get\n      retry: { maxAttempts: 6 }\n');
    const loaded = loadConfig(['--protos', RES_PROTOS_DIR, '--mappings', file, '--upstream', '127.0.0.1:1'], {});
    if (!loaded.ok) throw new Error('config');
    const built = buildSnapshot(loaded.config);
    dir.cleanup();
    expect(built.ok).toBe(false);
    if (built.ok) return;
    expect(built.problems.map((p) => [p.code, p.rule, p.message])).toEqual([
      ['ATTACHE_E_UNSAFE_RETRY', 'res.v1.Flaky.Post', expect.stringMatching(/^retrying DEADLINE_EXCEEDED is only allowed for safe methods; res.v1.Flaky.Post is not safe to repeat \(its bindings are POST/)],
      ['ATTACHE_E_POLICY', 'res.v1.Flaky.Get', 'retry.maxAttempts must be an integer from 2 to 5 (1 turns retries off), got 6'],
    ]);
    expect(built.problems[0]!.source).toMatch(/mapping\.yaml:5$/);
  });
});
