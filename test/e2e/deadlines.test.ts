/**
 * Deadlines and cancellation through real HTTP: `Grpc-Timeout` / `X-Request-Timeout` set the call's deadline,
 * capped by the rule's (the fixture's backend.yaml gives Slow 2 s), `--default-deadline` applies when nothing
 * sets one, and a client that goes away cancels the upstream call.
 */
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { request } from '../support/http.js';

const FIXTURE = ['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR];
/** The rule deadline test/fixtures/e2e/mappings/backend.yaml gives Slow. */
const SLOW_RULE_DEADLINE_MS = 2000;
/**
 * How much later than `sentAt + timeout` the server's deadline may fall: the time from sending the HTTP
 * request to attache starting the call. Generous for a loaded machine; the deadlines compared differ by far more.
 */
const SLACK_MS = 250;

let server: TestServer;
let attache: TestAttache;

beforeAll(async () => {
  server = await startTestServer();
  attache = await startAttache([...FIXTURE, '--upstream', server.target]);
});

afterAll(async () => {
  await attache?.stop();
  await server?.close();
});

beforeEach(() => server.reset());

/** How far in the future (ms, from `sentAt`) the server saw the call's deadline. */
function deadlineAfter(deadline: Date | undefined, sentAt: number): number {
  expect(deadline, 'the server saw no deadline').toBeInstanceOf(Date);
  return deadline!.getTime() - sentAt;
}

describe('a request timeout header', () => {
  it.each([
    ['Grpc-Timeout', 'grpc-timeout', '100m', 100],
    ['X-Request-Timeout', 'x-request-timeout', '150ms', 150],
  ])('%s shortens the call: 504 well under a second, and the server saw the deadline', async (_name, header, value, ms) => {
    const sentAt = Date.now();
    const r = await request(`${attache.url}/v1/slow/2000`, { headers: { [header]: value } });
    const took = Date.now() - sentAt;
    expect(r.status).toBe(504);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json).toMatchObject({ code: 4, details: [], message: `the upstream call did not finish within its deadline of ${ms} ms` });
    expect(took).toBeLessThan(800);
    expect(took).toBeGreaterThanOrEqual(ms - 10);
    const call = await server.waitForCall('Slow');
    expect(call.cancelled).toBe(true);
    expect(deadlineAfter(call.deadline, sentAt)).toBeLessThanOrEqual(ms + SLACK_MS);
  });

  it('Grpc-Timeout wins over X-Request-Timeout', async () => {
    const sentAt = Date.now();
    const r = await request(`${attache.url}/v1/slow/10`, { headers: { 'grpc-timeout': '1S', 'x-request-timeout': '50ms' } });
    expect(r.status).toBe(200);
    const after = deadlineAfter((await server.waitForCall('Slow')).deadline, sentAt);
    expect(after).toBeGreaterThan(800);
    expect(after).toBeLessThanOrEqual(1000 + SLACK_MS);
  });

  it('a fast call within its timeout answers 200', async () => {
    const r = await request(`${attache.url}/v1/slow/20`, { headers: { 'grpc-timeout': '1S' } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ method: 'Slow', waitedMs: 20 });
  });

  it.each([
    ['grpc-timeout', '10S'],
    ['grpc-timeout', '1H'],
    ['x-request-timeout', '30s'],
  ])('the rule deadline (2 s) caps a longer %s: %s', async (header, value) => {
    const sentAt = Date.now();
    const r = await request(`${attache.url}/v1/slow/10`, { headers: { [header]: value } });
    expect(r.status).toBe(200);
    const after = deadlineAfter((await server.waitForCall('Slow')).deadline, sentAt);
    expect(after).toBeGreaterThan(SLOW_RULE_DEADLINE_MS - 200);
    expect(after).toBeLessThanOrEqual(SLOW_RULE_DEADLINE_MS + SLACK_MS);
  });

  it('the rule deadline ends a call that sets none: 504 after ~2 s', async () => {
    const sentAt = Date.now();
    const r = await request(`${attache.url}/v1/slow/5000`);
    const took = Date.now() - sentAt;
    expect(r.status).toBe(504);
    expect(r.json).toMatchObject({ code: 4 });
    expect(took).toBeGreaterThanOrEqual(SLOW_RULE_DEADLINE_MS - 50);
    expect(took).toBeLessThan(SLOW_RULE_DEADLINE_MS + 1000);
    expect((await server.waitForCall('Slow')).cancelled).toBe(true);
  });

  it.each([
    ['grpc-timeout', '100'],
    ['grpc-timeout', '1x'],
    ['grpc-timeout', '123456789S'],
    ['grpc-timeout', '-1S'],
    ['grpc-timeout', '1.5S'],
    ['grpc-timeout', 'soon'],
    ['x-request-timeout', '2 s'],
    ['x-request-timeout', '1h'],
    ['x-request-timeout', '-5ms'],
  ])('a malformed %s %j → 400 naming the header, and no call is made', async (header, value) => {
    const r = await request(`${attache.url}/v1/slow/10`, { headers: { [header]: value } });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 3, details: [] });
    expect((r.json as { message: string }).message).toContain(header);
    expect(server.calls).toEqual([]);
  });
});

describe('--default-deadline', () => {
  let short: TestAttache;

  beforeAll(async () => {
    short = await startAttache([...FIXTURE, '--upstream', server.target, '--default-deadline', '300ms']);
  });

  afterAll(async () => {
    await short?.stop();
  });

  it('applies when neither the rule nor the request sets one', async () => {
    const sentAt = Date.now();
    const r = await request(`${short.url}/v1/echo/x`);
    expect(r.status).toBe(200);
    const after = deadlineAfter((await server.waitForCall('GetEcho')).deadline, sentAt);
    expect(after).toBeGreaterThan(200);
    expect(after).toBeLessThanOrEqual(300 + SLACK_MS);
  });

  it('the default is 15 s', async () => {
    const sentAt = Date.now();
    expect((await request(`${attache.url}/v1/echo/x`)).status).toBe(200);
    const after = deadlineAfter((await server.waitForCall('GetEcho')).deadline, sentAt);
    expect(after).toBeGreaterThan(14_000);
    expect(after).toBeLessThanOrEqual(15_000 + SLACK_MS);
  });

  it('a rule deadline wins over the default', async () => {
    const r = await request(`${short.url}/v1/slow/500`);
    expect(r.status).toBe(200);
  });

  it('a request header may extend past the default on a route without a rule deadline', async () => {
    const sentAt = Date.now();
    expect((await request(`${short.url}/v1/echo/x`, { headers: { 'grpc-timeout': '5S' } })).status).toBe(200);
    const after = deadlineAfter((await server.waitForCall('GetEcho')).deadline, sentAt);
    expect(after).toBeGreaterThan(4000);
  });
});

describe('client disconnect', () => {
  it('aborting the HTTP request cancels the upstream call well before it would finish', async () => {
    const sentAt = Date.now();
    const req = http.request(`${attache.url}/v1/slow/3000`);
    req.on('error', () => undefined);
    req.end();
    // Abort once the call has reached the server.
    await expect.poll(() => server.calls.length, { timeout: 2000, interval: 10 }).toBe(1);
    req.destroy();
    const call = await server.waitForCall('Slow', 2500);
    expect(call.cancelled).toBe(true);
    expect(Date.now() - sentAt).toBeLessThan(1500);
    // attache keeps serving.
    expect((await request(`${attache.url}/v1/slow/1`)).status).toBe(200);
  });
});
