/**
 * Errors through real HTTP against the real fixture server: every non-OK google.rpc.Code → its HTTP status
 * (google/rpc/code.proto "HTTP Mapping") and the contract's `{"code","message","details"}` body; each
 * error-details type from `grpc-status-details-bin` rendered in its proto3 JSON form; and an unreachable
 * upstream.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import {
  defaultFailMessage,
  FAIL_DETAILS,
  FAIL_DETAIL_KINDS,
  UNKNOWN_DETAIL_BASE64,
  UNKNOWN_DETAIL_TYPE_URL,
} from '../support/fail-details.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { request } from '../support/http.js';

let server: TestServer;
let attache: TestAttache;

beforeAll(async () => {
  server = await startTestServer();
  attache = await startAttache(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target]);
});

afterAll(async () => {
  await attache?.stop();
  await server?.close();
});

describe('gRPC status → HTTP status and google.rpc.Status body', () => {
  // google/rpc/code.proto, each code's "HTTP Mapping" line; the contract repeats the table.
  it.each([
    [1, 'CANCELLED', 499],
    [2, 'UNKNOWN', 500],
    [3, 'INVALID_ARGUMENT', 400],
    [4, 'DEADLINE_EXCEEDED', 504],
    [5, 'NOT_FOUND', 404],
    [6, 'ALREADY_EXISTS', 409],
    [7, 'PERMISSION_DENIED', 403],
    [8, 'RESOURCE_EXHAUSTED', 429],
    [9, 'FAILED_PRECONDITION', 400],
    [10, 'ABORTED', 409],
    [11, 'OUT_OF_RANGE', 400],
    [12, 'UNIMPLEMENTED', 501],
    [13, 'INTERNAL', 500],
    [14, 'UNAVAILABLE', 503],
    [15, 'DATA_LOSS', 500],
    [16, 'UNAUTHENTICATED', 401],
  ])('code %i (%s) → HTTP %i', async (code, name, httpStatus) => {
    const r = await request(`${attache.url}/v1/fail/${code}`);
    expect(r.status).toBe(httpStatus);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers['x-request-id']).toBeTruthy();
    // `details` is always present, `[]` when empty; the key order is code, message, details.
    expect(r.body).toBe(JSON.stringify({ code, message: `e2e failure: ${name}`, details: [] }));
  });

  it('code 0 is a plain 200 with the response', async () => {
    const r = await request(`${attache.url}/v1/fail/0`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ method: 'Fail' });
  });

  it('passes the upstream message through unchanged, including non-ASCII text', async () => {
    const message = 'the book "Ünïcödé ✓" is gone';
    const r = await request(`${attache.url}/v1/fail`, { method: 'POST', body: { code: 5, message } });
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ code: 5, message, details: [] });
  });

  it('sends upstream trailers of a failed call as Grpc-Trailer-* headers', async () => {
    const r = await request(`${attache.url}/v1/fail`, { method: 'POST', body: { code: 9, trailers: { 'x-why': 'because' } } });
    expect(r.status).toBe(400);
    expect(r.headers['grpc-trailer-x-why']).toBe('because');
    // The details trailer is gRPC's own: never shown as a header.
    expect(Object.keys(r.headers).filter((h) => h.includes('grpc-status') || h.includes('grpc-message'))).toEqual([]);
  });
});

describe('error details from grpc-status-details-bin', () => {
  const known = FAIL_DETAIL_KINDS.filter((k) => k !== 'unknown');

  it.each(known)('%s renders in its proto3 JSON form', async (kind) => {
    const r = await request(`${attache.url}/v1/fail/3?details=${kind}`);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ code: 3, message: defaultFailMessage(3), details: [FAIL_DETAILS[kind].json] });
  });

  it('an unknown detail type falls back to {"@type", "value": <base64>}', async () => {
    const r = await request(`${attache.url}/v1/fail/13?details=unknown`);
    expect(r.status).toBe(500);
    expect(r.json).toEqual({
      code: 13,
      message: defaultFailMessage(13),
      details: [{ '@type': UNKNOWN_DETAIL_TYPE_URL, value: UNKNOWN_DETAIL_BASE64 }],
    });
  });

  it('RetryInfo also sets Retry-After (RFC 9110 §10.2.3, whole seconds)', async () => {
    const r = await request(`${attache.url}/v1/fail/14?details=RetryInfo`);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('2');
  });

  it('no Retry-After without a RetryInfo', async () => {
    const r = await request(`${attache.url}/v1/fail/14?details=ErrorInfo`);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBeUndefined();
  });

  it('keeps every detail, in the order the upstream sent them', async () => {
    const r = await request(`${attache.url}/v1/fail`, { method: 'POST', body: { code: 8, details: [...FAIL_DETAIL_KINDS].reverse() } });
    expect(r.status).toBe(429);
    const expected = [...FAIL_DETAIL_KINDS].reverse().map((k) => FAIL_DETAILS[k].json ?? { '@type': UNKNOWN_DETAIL_TYPE_URL, value: UNKNOWN_DETAIL_BASE64 });
    expect(r.json).toEqual({ code: 8, message: defaultFailMessage(8), details: expected });
    expect(r.headers['retry-after']).toBe('2');
  });
});

describe('an unreachable upstream', () => {
  let down: TestAttache;

  beforeAll(async () => {
    // A port that was just free on loopback: nothing listens there, so connecting is refused at once.
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    down = await startAttache(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', `127.0.0.1:${port}`]);
  });

  afterAll(async () => {
    await down?.stop();
  });

  it('answers 503 (UNAVAILABLE) in the Status shape, fast, and keeps serving', async () => {
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const r = await request(`${down.url}/v1/echo/x`);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(r.status).toBe(503);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.headers['x-request-id']).toBeTruthy();
      expect(r.json).toMatchObject({ code: 14, details: [] });
      expect((r.json as { message: string }).message).toEqual(expect.any(String));
    }
    const health = await request(`${down.adminUrl}/readyz`);
    expect(health.status).toBe(200);
  });
});
