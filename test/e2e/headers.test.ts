/**
 * Headers ⇄ metadata through real HTTP (the contract's "Headers in" / "Headers out"): what reaches the
 * fixture server's `Meta` method as request metadata, and what comes back as `Grpc-Metadata-*` /
 * `Grpc-Trailer-*` response headers. Also X-Request-Id on every response, attache's own errors included.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { rawRequest, request, type HttpResponse } from '../support/http.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: TestServer;
let attache: TestAttache;
let port: number;

beforeAll(async () => {
  server = await startTestServer();
  attache = await startAttache(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target]);
  port = attache.running.port;
});

afterAll(async () => {
  await attache?.stop();
  await server?.close();
});

beforeEach(() => server.reset());

/** GET /v1/meta with `headers`; returns the response and the metadata the server echoed. */
async function meta(headers: Record<string, string | string[]>): Promise<{ r: HttpResponse; md: Record<string, string> }> {
  const r = await request(`${attache.url}/v1/meta`, { headers });
  expect(r.status, r.body).toBe(200);
  return { r, md: (r.json as { metadata: Record<string, string> }).metadata };
}

describe('headers in', () => {
  it('forwards Authorization as is', async () => {
    const { md } = await meta({ authorization: 'Bearer abc.def' });
    expect(md['authorization']).toBe('Bearer abc.def');
  });

  it('echoes the client X-Request-Id and forwards it upstream', async () => {
    const { r, md } = await meta({ 'x-request-id': 'req-123' });
    expect(r.headers['x-request-id']).toBe('req-123');
    expect(md['x-request-id']).toBe('req-123');
  });

  it('generates a UUID X-Request-Id when absent, the same one up and down', async () => {
    const { r, md } = await meta({});
    expect(r.headers['x-request-id']).toMatch(UUID);
    expect(md['x-request-id']).toBe(r.headers['x-request-id']);
  });

  it('replaces an X-Request-Id that is not safe to echo (over 128 characters)', async () => {
    const { r } = await meta({ 'x-request-id': 'a'.repeat(129) });
    expect(r.headers['x-request-id']).toMatch(UUID);
  });

  // Trace context is re-issued, not copied (docs/observability.md "Tracing"): the upstream gets attache's client span as
  // parent with the caller's trace id, as W3C traceparent and B3 multi headers. The full propagation matrix
  // (sampling, baggage, OTEL_PROPAGATORS) is in test/telemetry/tracing.test.ts.
  const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
  it.each<[string, Record<string, string>]>([
    ['traceparent + tracestate', { traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01`, tracestate: 'vendor=opaque' }],
    ['b3 single', { b3: `${TRACE_ID}-e457b5a2e4d86bd1-1` }],
    ['X-B3-* multi', { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': 'e457b5a2e4d86bd1', 'x-b3-sampled': '1' }],
  ])('carries the caller\'s trace id upstream from %s, as W3C and B3', async (_name, headers) => {
    const { md } = await meta(headers);
    expect(md['traceparent']?.split('-')[1]).toBe(TRACE_ID);
    expect(md['x-b3-traceid']).toBe(TRACE_ID);
    // A new parent span: attache's client span, not the caller's.
    expect(md['traceparent']?.split('-')[2]).not.toBe('b7ad6b7169203331');
    if (headers['tracestate'] !== undefined) expect(md['tracestate']).toBe('vendor=opaque');
  });

  it('carries baggage upstream', async () => {
    const { md } = await meta({ baggage: 'user=alice' });
    expect(md['baggage']).toBe('user=alice');
  });

  it('strips the Grpc-Metadata- prefix and lower-cases the name', async () => {
    const { md } = await meta({ 'Grpc-Metadata-Tenant-Id': 'acme', 'grpc-metadata-x.y_z': 'v' });
    expect(md['tenant-id']).toBe('acme');
    expect(md['x.y_z']).toBe('v');
  });

  it.each([
    ['padded', 'AP8='],
    ['unpadded', 'AP8'],
    ['URL-safe', 'AP_-'],
  ])('base64-decodes a Grpc-Metadata-*-bin value (%s)', async (_name, value) => {
    await meta({ 'grpc-metadata-data-bin': value });
    const call = await server.waitForCall('Meta');
    expect(call.metadata['data-bin']).toEqual(Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  });

  it('forwards repeated Grpc-Metadata-* headers as several values', async () => {
    await meta({ 'grpc-metadata-multi-bin': ['AQ==', 'Ag=='] });
    const call = await server.waitForCall('Meta');
    expect(call.metadata['multi-bin']).toEqual([Buffer.from([1]), Buffer.from([2])]);
  });

  it('never forwards hop-by-hop headers, gRPC internals, or headers outside the allow-list', async () => {
    await meta({
      connection: 'keep-alive, x-hop',
      'keep-alive': 'timeout=5',
      'x-hop': '1',
      te: 'trailers',
      'proxy-authorization': 'Basic eA==',
      cookie: 'session=1',
      'x-custom': 'not forwarded',
      'grpc-encoding': 'gzip',
      'grpc-metadata-grpc-status': '0',
      'grpc-metadata-grpc-foo': 'x',
      'grpc-metadata-content-type': 'text/plain',
      'grpc-metadata-te': 'trailers',
      'grpc-metadata-connection': 'close',
      'grpc-metadata-host': 'evil',
      'grpc-metadata-user-agent': 'me',
      'grpc-metadata-ok': 'yes',
    });
    const call = await server.waitForCall('Meta');
    // attache's own trace context (a new trace here) is always injected; everything else must be allow-listed.
    const TRACE = new Set(['traceparent', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled']);
    const keys = Object.keys(call.metadata).filter((k) => !TRACE.has(k)).sort();
    // user-agent is the one grpc-js itself sets (not the client's value).
    expect(keys).toEqual(['ok', 'user-agent', 'x-request-id']);
    expect(call.metadata['user-agent']).not.toBe('me');
  });

  it('an illegal metadata value (non-ASCII, over a raw socket) → 400 in the Status shape, and the next request succeeds', async () => {
    const head = Buffer.from('GET /v1/meta HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad-1\r\nGrpc-Metadata-x: ');
    const text = await rawRequest(port, Buffer.concat([head, Buffer.from('caf\u00e9', 'utf8'), Buffer.from('\r\n\r\n')]));
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toMatch(/\r\ncontent-type: application\/json/i);
    expect(text).toMatch(/\r\nx-request-id: bad-1\r\n/i);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { code: number; message: string; details: unknown[] };
    expect(body).toMatchObject({ code: 3, details: [] });
    expect(body.message).toContain('grpc-metadata-x');
    expect(server.calls).toEqual([]);

    const next = await request(`${attache.url}/v1/meta`);
    expect(next.status).toBe(200);
  });

  it.each([
    ['a control character in a header value', 'GET /v1/meta HTTP/1.1\r\nHost: x\r\nGrpc-Metadata-x: a\x01b\r\n\r\n'],
    ['a header name that is not a token', 'GET /v1/meta HTTP/1.1\r\nHost: x\r\nGrpc-Metadata-x@y: v\r\n\r\n'],
    ['a bad Content-Length', 'POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
  ])('a request Node\'s parser rejects (%s) → 400 in the Status shape with an X-Request-Id', async (_name, text) => {
    const res = await rawRequest(port, text, { untilClose: true });
    expect(res).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(res).toMatch(/\r\ncontent-type: application\/json/i);
    expect(res).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
    expect(JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 3, message: expect.stringMatching(/^malformed HTTP request/), details: [] });
    expect(server.calls).toEqual([]);
    expect((await request(`${attache.url}/v1/meta`)).status).toBe(200);
  });

  it('headers over Node\'s size limit → 431 in the Status shape', async () => {
    const res = await rawRequest(port, `GET /v1/meta HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, { untilClose: true });
    expect(res).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 8, details: [] });
  });

  it('Grpc-Metadata-X-Request-Id cannot change the request id the upstream sees', async () => {
    const { r, md } = await meta({ 'x-request-id': 'rid-1', 'grpc-metadata-x-request-id': 'spoofed' });
    expect(r.headers['x-request-id']).toBe('rid-1');
    expect(md['x-request-id']).toBe('rid-1');
  });

  it.each([
    ['a -bin value that is not base64', { 'grpc-metadata-x-bin': 'not base64!' }],
    ['an illegal key', { 'grpc-metadata-x~y': 'v' }],
    ['an empty name after the prefix', { 'grpc-metadata-': 'v' }],
  ])('%s → 400', async (_name, headers) => {
    const r = await request(`${attache.url}/v1/meta`, { headers });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 3, details: [] });
    expect(server.calls).toEqual([]);
  });
});

describe('headers out', () => {
  it('response headers as Grpc-Metadata-*, trailers as Grpc-Trailer-*, -bin values base64', async () => {
    const { r } = await meta({});
    expect(r.headers['grpc-metadata-x-echo-header']).toBe('h');
    expect(r.headers['grpc-metadata-x-echo-header-bin']).toBe('AP8=');
    expect(r.headers['grpc-trailer-x-echo-trailer']).toBe('t');
    expect(r.headers['grpc-trailer-x-echo-bin']).toBe('AP8=');
  });

  it('never shows gRPC internals or the upstream transport headers', async () => {
    const { r } = await meta({ te: 'trailers' });
    const leaked = Object.keys(r.headers).filter(
      (h) =>
        /^grpc-(metadata|trailer)-(date|content-type|grpc-|te$|user-agent)/.test(h) ||
        /^grpc-(status|message|encoding|accept-encoding)/.test(h),
    );
    expect(leaked).toEqual([]);
    expect(r.headers['content-type']).toMatch(/^application\/json(;|$)/);
  });
});

describe('X-Request-Id on attache\'s own errors', () => {
  it.each([
    ['404, unknown path', 'GET', '/v1/no/such/route', {}, 404],
    ['405, unmapped method', 'PATCH', '/v1/things/x', {}, 405],
    ['400, malformed Grpc-Timeout', 'GET', '/v1/echo/x', { 'grpc-timeout': 'soon' }, 400],
    ['400, bad JSON body', 'POST', '/v1/echo', { 'content-type': 'application/json' }, 400],
  ])('%s: echoed when given, generated when absent', async (_name, method, path, headers, status) => {
    const body = method === 'POST' ? '{"id":' : undefined;
    const given = await request(`${attache.url}${path}`, { method, headers: { ...headers, 'x-request-id': 'mine-1' }, body });
    expect(given.status).toBe(status);
    expect(given.headers['x-request-id']).toBe('mine-1');
    expect(given.headers['content-type']).toMatch(/^application\/json/);
    expect(given.json).toMatchObject({ code: expect.any(Number), message: expect.any(String), details: expect.any(Array) });

    const generated = await request(`${attache.url}${path}`, { method, headers, body });
    expect(generated.status).toBe(status);
    expect(generated.headers['x-request-id']).toMatch(UUID);
  });
});
