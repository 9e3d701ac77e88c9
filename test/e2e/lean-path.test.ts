/**
 * The lean path (src/http/lean.ts): plain unary GETs are answered by a node:http listener in front of Fastify.
 * The same raw requests, sent to an attache with the lean path and to one without it (every request through
 * Fastify), must get the same bytes back: status line, headers in the same order, body. Only `date` and a
 * generated X-Request-Id may differ. Also which requests the lean path takes, and which it leaves to Fastify.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takes } from '../../src/http/lean.js';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { rawRequest } from '../support/http.js';

let server: TestServer;
let lean: TestAttache;
let full: TestAttache;

beforeAll(async () => {
  server = await startTestServer();
  const args = ['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target];
  lean = await startAttache(args);
  full = await startAttache(args, {}, { start: { leanPath: false } });
});

afterAll(async () => {
  await lean?.stop();
  await full?.stop();
  await server?.close();
});

/** The response text with what legitimately differs between two answers masked. */
function masked(text: string): string {
  return text
    .replace(/^date: .*$/gim, 'date: <date>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g, '<uuid>')
    // Trace and span ids attache generates (the Meta method echoes the metadata it got, traceparent included).
    .replace(/\b[0-9a-f]{32}\b|\b[0-9a-f]{16}\b/g, '<id>');
}

const CRLF = '\r\n';
const send = (method: string, target: string, body: string | undefined, ...headers: string[]): string =>
  `${method} ${target} HTTP/1.1${CRLF}Host: x${CRLF}${headers.map((h) => h + CRLF).join('')}${body === undefined ? '' : `Content-Length: ${Buffer.byteLength(body)}${CRLF}`}Connection: close${CRLF}${CRLF}${body ?? ''}`;
const json = (method: string, target: string, body: string, ...headers: string[]): string => send(method, target, body, 'Content-Type: application/json', ...headers);
const get = (target: string, ...headers: string[]): string => `GET ${target} HTTP/1.1${CRLF}Host: x${CRLF}${headers.map((h) => h + CRLF).join('')}Connection: close${CRLF}${CRLF}`;

describe('the lean path answers byte for byte as Fastify does', () => {
  it.each<[string, string | Buffer]>([
    ['a unary GET', get('/v1/echo/abc?count=3', 'X-Request-Id: rid-1')],
    ['a generated request id', get('/v1/echo/abc')],
    ['HTTP/1.0, no Connection header', `GET /v1/echo/abc HTTP/1.0${CRLF}Host: x${CRLF}${CRLF}`],
    ['HTTP/1.0 keep-alive', `GET /v1/echo/abc HTTP/1.0${CRLF}Host: x${CRLF}Connection: keep-alive${CRLF}${CRLF}`],
    ['an upstream error (NOT_FOUND)', get('/v1/fail/5', 'X-Request-Id: rid-2')],
    ['an upstream error (INVALID_ARGUMENT)', get('/v1/fail/3', 'X-Request-Id: rid-3')],
    ['a query parameter that does not parse', get('/v1/echo/abc?count=notanumber', 'X-Request-Id: rid-4')],
    ['a malformed Grpc-Timeout', get('/v1/echo/abc', 'Grpc-Timeout: soon', 'X-Request-Id: rid-5')],
    ['response headers and trailers from metadata', get('/v1/meta', 'Grpc-Metadata-Tenant: t1', 'X-Request-Id: rid-6')],
    ['a nested path variable', get('/v1/books/shelves%2F1', 'X-Request-Id: rid-7')],
    ['a ** variable', get('/v1/files/a/b/c.txt', 'X-Request-Id: rid-8')],
    ['a custom verb', get('/v1/things/t1:archive', 'X-Request-Id: rid-9')],
    ['a POST with a JSON body', json('POST', '/v1/echo', '{"id":"x1","count":"7","tags":["a","é€😀"]}', 'X-Request-Id: rid-20')],
    ['a POST with a path variable and a body', json('POST', '/v1/echo/p1', '{"count":2}', 'X-Request-Id: rid-21')],
    ['a POST with a body field binding and a query', json('POST', '/v1/shelves/s1/books?count=4', '{"name":"b"}', 'X-Request-Id: rid-22')],
    ['a PUT', json('PUT', '/v1/books/b1', '{"name":"b"}', 'X-Request-Id: rid-23')],
    ['a PATCH with a field mask from the query', json('PATCH', '/v1/books/b1?mask=pages,tags', '{"pages":3}', 'X-Request-Id: rid-24')],
    ['a DELETE with no body', send('DELETE', '/v1/things/t1', undefined, 'X-Request-Id: rid-25')],
    ['a POST with no body and no content type', send('POST', '/v1/echo', undefined, 'X-Request-Id: rid-26')],
    ['a POST with an empty JSON body', json('POST', '/v1/echo', '', 'X-Request-Id: rid-27')],
    ['a POST whose body is not JSON', json('POST', '/v1/echo', '{"id":', 'X-Request-Id: rid-28')],
    ['a POST with an unknown field', json('POST', '/v1/echo', '{"nope":1}', 'X-Request-Id: rid-29')],
    ['a POST with a __proto__ key', json('POST', '/v1/echo', '{"__proto__":{"id":"x"}}', 'X-Request-Id: rid-30')],
    ['a POST with invalid UTF-8', Buffer.concat([Buffer.from(json('POST', '/v1/echo', '{"id":"ab"}', 'X-Request-Id: rid-31').slice(0, -4), 'latin1'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])],
    ['a large answer (from 32 KiB of protobuf on, written as UTF-8 Buffers)', json('POST', '/v1/echo', `{"id":"${'é'.repeat(40_000)}"}`, 'X-Request-Id: rid-33')],
    ['an upstream error on a POST', json('POST', '/v1/fail', '{"code":9,"message":"no"}', 'X-Request-Id: rid-32')],
    // The ones the lean path leaves to Fastify: the same answers either way, of course.
    ['with an Origin (CORS decides)', get('/v1/echo/abc', 'Origin: http://elsewhere.example', 'X-Request-Id: rid-10')],
    ['an unknown path', get('/v1/nothing/here', 'X-Request-Id: rid-11')],
    ['a path with a method no rule maps', get('/v1/echo', 'X-Request-Id: rid-12')],
    ['a URL over the limit', get(`/v1/echo/${'a'.repeat(20_000)}`, 'X-Request-Id: rid-13')],
    ['a JSON body with a charset', send('POST', '/v1/echo', '{"id":"c"}', 'Content-Type: application/json; charset=utf-8', 'X-Request-Id: rid-14')],
    ['a body of another type', send('POST', '/v1/echo', '{"id":"c"}', 'Content-Type: text/plain', 'X-Request-Id: rid-15')],
    ['a body with no content type', send('POST', '/v1/echo', '{"id":"c"}', 'X-Request-Id: rid-16')],
    ['a chunked body', `POST /v1/echo HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Transfer-Encoding: chunked${CRLF}X-Request-Id: rid-17${CRLF}Connection: close${CRLF}${CRLF}a${CRLF}{"id":"c"}${CRLF}0${CRLF}${CRLF}`],
    ['a body over the limit', json('POST', '/v1/echo', `{"id":"${'x'.repeat(5 * 1024 * 1024)}"}`, 'X-Request-Id: rid-18')],
    ['a media type that does not parse', send('POST', '/v1/echo', '{"id":"c"}', 'Content-Type: application/', 'X-Request-Id: rid-19')],
  ])('%s', async (_name, text) => {
    const [a, b] = await Promise.all([rawRequest(lean.running.port, text), rawRequest(full.running.port, text)]);
    expect(masked(a)).toBe(masked(b));
    expect(a).toMatch(/^HTTP\/1\.1 \d{3} /);
  });

  it('keep-alive: three requests on one connection, pipelined', async () => {
    const text = `GET /v1/echo/a HTTP/1.1${CRLF}Host: x${CRLF}X-Request-Id: p1${CRLF}${CRLF}GET /v1/fail/5 HTTP/1.1${CRLF}Host: x${CRLF}X-Request-Id: p2${CRLF}${CRLF}${get('/v1/echo/c', 'X-Request-Id: p3')}`;
    const [a, b] = await Promise.all([rawRequest(lean.running.port, text, { untilClose: true }), rawRequest(full.running.port, text, { untilClose: true })]);
    expect(masked(a)).toBe(masked(b));
    expect(a.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(3);
  });
});

describe('which requests the lean path takes', () => {
  const limits = { bodyLimitBytes: 1024, maxUrlLength: 100, maxHeaderSize: 16384, maxQueryParams: 3, headerTimeoutMs: 1000, keepAliveTimeoutMs: 1000, maxConnections: 0, lingerMs: 100 };
  const ctx = (draining = false) => ({ snapshot: () => lean.running.snapshot, draining: () => draining });
  const JSON_BODY = { 'content-type': 'application/json', 'content-length': '10' };
  it.each<[string, string, string, Record<string, string>, false | 'none' | 'json']>([
    ['a unary GET', 'GET', '/v1/echo/abc?count=1', {}, 'none'],
    ['a custom verb', 'GET', '/v1/things/t1:archive', {}, 'none'],
    ['a POST with a JSON body', 'POST', '/v1/echo', JSON_BODY, 'json'],
    ['a PUT with a JSON body', 'PUT', '/v1/books/b1', JSON_BODY, 'json'],
    ['a POST with no body', 'POST', '/v1/echo', {}, 'none'],
    ['a POST with an empty body, no type', 'POST', '/v1/echo', { 'content-length': '0' }, 'none'],
    ['a POST with a body, no type', 'POST', '/v1/echo', { 'content-length': '3' }, false],
    ['a POST with a charset', 'POST', '/v1/echo', { ...JSON_BODY, 'content-type': 'application/json; charset=utf-8' }, false],
    ['a POST over the body limit', 'POST', '/v1/echo', { ...JSON_BODY, 'content-length': '1025' }, false],
    ['a POST at the body limit', 'POST', '/v1/echo', { ...JSON_BODY, 'content-length': '1024' }, 'json'],
    ['a POST with Expect', 'POST', '/v1/echo', { ...JSON_BODY, expect: '100-continue' }, false],
    ['a POST to a GET route (405)', 'POST', '/v1/echo/abc/x', JSON_BODY, false],
    ['OPTIONS (CORS preflights)', 'OPTIONS', '/v1/echo', {}, false],
    ['HEAD', 'HEAD', '/v1/echo/abc', {}, false],
    ['an Origin header (CORS)', 'GET', '/v1/echo/abc', { origin: 'http://a.example' }, false],
    ['an Upgrade header', 'GET', '/v1/echo/abc', { upgrade: 'websocket' }, false],
    ['a GET with a body', 'GET', '/v1/echo/abc', { 'content-length': '3' }, false],
    ['a GET with a chunked body', 'GET', '/v1/echo/abc', { 'transfer-encoding': 'chunked' }, false],
    ['a GET with an empty body', 'GET', '/v1/echo/abc', { 'content-length': '0' }, 'none'],
    ['a percent sign in the path (find-my-way decodes it first)', 'GET', '/v1/echo/a%20b', {}, false],
    ['a percent sign in the query only', 'GET', '/v1/echo/ab?q=a%20b', {}, 'none'],
    ['the absolute form', 'GET', 'http://x/v1/echo/abc', {}, false],
    ['an unknown path (404)', 'GET', '/v1/nothing', {}, false],
    ['a method the path does not map (405)', 'GET', '/v1/echo', {}, false],
    ['a URL over the limit (414)', 'GET', `/v1/echo/${'a'.repeat(100)}`, {}, false],
    ['too many query parameters', 'GET', '/v1/echo/abc?a=1&b=2&c=3&d=4', {}, false],
  ])('%s', (_name, method, url, headers, expected) => {
    expect(takes({ method, url, headers }, ctx(), limits)).toBe(expected);
  });

  it('nothing while draining', () => {
    expect(takes({ method: 'GET', url: '/v1/echo/abc', headers: {} }, ctx(true), limits)).toBe(false);
  });
});
