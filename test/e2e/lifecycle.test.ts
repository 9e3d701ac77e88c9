/**
 * Lifecycle and connections through real sockets: liveness and readiness on the admin listener, the
 * SIGTERM drain (`running.stop()`), and HTTP/1.0 and HTTP/1.1 keep-alive on the REST listener.
 */
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { rawRequest, request, type HttpResponse } from '../support/http.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

beforeEach(() => server.reset());

function startFixtureAttache(...extra: string[]): Promise<TestAttache> {
  return startAttache(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target, ...extra]);
}

/** Resolves once the fixture server has received `n` calls, so a test knows its request is in flight. */
async function inFlight(n = 1): Promise<void> {
  await expect.poll(() => server.calls.length, { timeout: 2000, interval: 5 }).toBeGreaterThanOrEqual(n);
}

/** The body of a raw HTTP/1.x response text. */
function bodyOf(text: string): string {
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

describe('liveness and readiness', () => {
  let attache: TestAttache;

  beforeAll(async () => {
    attache = await startFixtureAttache();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  it.each([
    ['/healthz', { status: 'ok' }],
    ['/readyz', { status: 'ready' }],
  ])('%s answers 200 once started', async (path, body) => {
    const r = await request(`${attache.adminUrl}${path}`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual(body);
  });

  it('the admin paths are not on the REST listener, nor the REST routes on the admin one', async () => {
    expect((await request(`${attache.url}/readyz`)).status).toBe(404);
    expect((await request(`${attache.adminUrl}/v1/echo/x`)).status).toBe(404);
  });
});

describe('stop (the SIGTERM path)', () => {
  it('readiness 503 while draining, an in-flight request completes, stop resolves, new connections are refused', async () => {
    const attache = await startFixtureAttache();
    const slow = request(`${attache.url}/v1/slow/500`);
    await inFlight();

    const stopped = attache.stop();
    const ready = await request(`${attache.adminUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'draining' });
    // Liveness does not change while draining: the process still lives.
    expect((await request(`${attache.adminUrl}/healthz`)).status).toBe(200);
    // The REST listener stopped accepting at once.
    await expect(request(`${attache.url}/v1/echo/x`)).rejects.toThrow(/ECONNREFUSED/);

    const r = await slow;
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ method: 'Slow', waitedMs: 500 });
    // The keep-alive connection is told to go, so the drain can finish.
    expect(r.headers['connection']).toBe('close');
    await stopped;
    expect(attache.running.lifecycle.phase()).toBe('stopped');
    await expect(request(`${attache.url}/v1/echo/x`)).rejects.toThrow(/ECONNREFUSED/);
    await expect(request(`${attache.adminUrl}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
    expect((await server.waitForCall('Slow')).cancelled).toBe(false);
  });

  it('stop is idempotent', async () => {
    const attache = await startFixtureAttache();
    const a = attache.stop();
    const b = attache.stop();
    expect(b).toBe(a);
    await a;
  });

  it('an idle keep-alive connection does not hold the drain up', async () => {
    const attache = await startFixtureAttache();
    const socket = net.connect(attache.running.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write('GET /v1/echo/x HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    const started = Date.now();
    await attache.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    await closed;
  });

  it('past --drain-timeout the rest is cancelled: stop resolves after ~200 ms, the server sees CANCELLED, the client gets a 503', async () => {
    const attache = await startFixtureAttache('--drain-timeout', '200ms');
    const slow = request(`${attache.url}/v1/slow/3000`).then(
      (r): HttpResponse | Error => r,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
    await inFlight();

    const started = Date.now();
    await attache.stop();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1000);

    const call = await server.waitForCall('Slow', 2000);
    expect(call.cancelled).toBe(true);

    // The client is answered rather than cut off: UNAVAILABLE (retryable elsewhere), not CANCELLED (499),
    // which would blame the client.
    const r = await slow;
    expect(r).not.toBeInstanceOf(Error);
    const res = r as HttpResponse;
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ code: 14, details: [] });
    expect(res.headers['connection']).toBe('close');
  });
});

describe('HTTP/1.0 and HTTP/1.1 connections', () => {
  let attache: TestAttache;

  beforeAll(async () => {
    attache = await startFixtureAttache();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  it('HTTP/1.0 without Host → a complete response with the JSON, then the server closes', async () => {
    const text = await rawRequest(attache.running.port, 'GET /v1/echo/x HTTP/1.0\r\n\r\n', { untilClose: true });
    // RFC 9110 §6.2: a server answers with its own highest minor version; an HTTP/1.0 client accepts it.
    expect(text).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(text).toMatch(/\r\ncontent-type: application\/json/i);
    // No chunked framing for an HTTP/1.0 client: Content-Length, or close-delimited.
    expect(text).not.toMatch(/\r\ntransfer-encoding:/i);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(bodyOf(text))).toEqual({ received: { id: 'x' }, method: 'GetEcho' });
  });

  it('HTTP/1.0 error answers are complete too', async () => {
    const text = await rawRequest(attache.running.port, 'GET /v1/nope HTTP/1.0\r\n\r\n', { untilClose: true });
    expect(text).toMatch(/^HTTP\/1\.[01] 404 /);
    expect(JSON.parse(bodyOf(text))).toMatchObject({ code: 5, details: [] });
  });

  it('HTTP/1.1 keep-alive: two requests on one socket', async () => {
    const text = await rawRequest(
      attache.running.port,
      'GET /v1/echo/a HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET /v1/echo/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      { untilClose: true },
    );
    const responses = text.split(/(?=HTTP\/1\.1 )/);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(responses[0]).toMatch(/\r\nconnection: keep-alive\r\n/i);
    expect(responses[0]).toContain('{"received":{"id":"a"},"method":"GetEcho"}');
    expect(responses[1]).toMatch(/^HTTP\/1\.1 200 /);
    expect(responses[1]).toContain('{"received":{"id":"b"},"method":"GetEcho"}');
  });

  it('HTTP/1.1 keep-alive: a second request after the first answer, on the same socket', async () => {
    const socket = net.connect(attache.running.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const read = (): Promise<string> => new Promise((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('utf8'))));
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write('GET /v1/echo/one HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(await read()).toContain('"id":"one"');
      socket.write('GET /v1/echo/two HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(await read()).toContain('"id":"two"');
    } finally {
      socket.destroy();
    }
  });
});
