/**
 * The HTTP surface fuzzed against a real attache and a real backend (the e2e echo server, which answers
 * every call but /v1/fail and /v1/slow OK), with raw bytes on a socket so nothing is cleaned up on the way:
 * paths with `..`, `%00`, bad escapes and very long segments; query strings; headers with illegal
 * metadata characters, `-bin` values that are not base64, CR/LF; JSON bodies with invalid UTF-8, duplicate
 * keys, huge numbers, deep nesting and prototype keys.
 *
 * Properties: every response is a well-formed HTTP/1.1 response; every error is a google.rpc.Status in JSON
 * (`code`, `message`, `details`) with `Content-Type: application/json`; no 5xx that the backend did not
 * cause (a deadline the request itself set may give 504); the process keeps serving; memory stays bounded.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { fuzzParams, fuzzTimeoutMs } from '../support/fuzz.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { rawRequest, request } from '../support/http.js';

let server: TestServer;
let attache: TestAttache;
let port = 0;

beforeAll(async () => {
  server = await startTestServer();
  attache = await startAttache(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target]);
  port = Number(new URL(attache.url).port);
});
afterAll(async () => {
  await attache?.stop();
  await server?.close();
});

/** Route prefixes of the fixture that the backend always answers OK (not /v1/fail, /v1/slow). */
const prefixes = ['/v1/echo', '/v1/books', '/v1/files', '/v1/things', '/v1/shelves/s1/books', '/v1/prec', '/v1/rb/book', '/v1/rb/tags', '/v1/multi', '/v1/alt/shelves', '/v1/meta', '/v1/ids/7/books', '/nope', ''];
const hostileSegment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/),
  fc.constantFrom('..', '.', '%00', '%zz', '%2F', '%', '%C3%28', '%FF', '%E2%82', ':archive', ':', 'a:b:c', '*', '{id}', '%2e%2e', '\u00e9', '😀'),
  fc.nat(9000).map((n) => 'x'.repeat(n)),
  fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
);
const path = fc.tuple(fc.constantFrom(...prefixes), fc.array(hostileSegment, { maxLength: 4 })).map(([p, segs]) => `${p}/${segs.join('/')}`.replace(/\/$/, p === '' ? '/' : ''));
const queryPair = fc.tuple(
  fc.oneof(fc.constantFrom('id', 'name', 'book.name', 'tags', 'count', 'nested.a.b', '__proto__', 'constructor.prototype', 'm[k]', 'm[', 'x'), fc.string({ maxLength: 8 })),
  fc.oneof(fc.string({ maxLength: 16 }), fc.constantFrom('%zz', '%00', '1e400', '-0', 'NaN', '99999999999999999999999', 'true', '')),
).map(([k, v]) => `${encodeURIComponent(k)}=${/^%/.test(v) ? v : encodeURIComponent(v)}`);
const query = fc.option(fc.array(queryPair, { maxLength: 5 }).map((p) => p.join('&')), { nil: undefined });
const headerValue = fc.oneof(fc.stringMatching(/^[ -~]{0,20}$/), fc.constantFrom('a\r\nX-Injected: 1', '\u0000', 'é', 'not base64!', '====', 'AAEC', '100m', '2S', '99999999H', '-1m', '1.5s', 'abc'));
const header = fc.tuple(
  fc.oneof(fc.constantFrom('Grpc-Metadata-X-A', 'Grpc-Metadata-X-B-Bin', 'Grpc-Metadata-Bad Key', 'Grpc-Metadata-:path', 'Grpc-Metadata-Grpc-Status', 'Grpc-Timeout', 'X-Request-Timeout', 'X-Request-Id', 'Authorization', 'Traceparent', 'B3', 'Content-Type', 'Accept', 'TE'), fc.stringMatching(/^[A-Za-z-]{1,12}$/)),
  headerValue,
);
const jsonBody = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.constantFrom(
    '{"id":"a","id":"b"}',
    '{"count":1e400}',
    '{"count":123456789012345678901234567890}',
    '{"__proto__":{"x":1}}',
    '{"constructor":{"prototype":{"x":1}}}',
    '{"id":"\\ud800"}',
    '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
    `${'{"nested":'.repeat(100)}{}${'}'.repeat(100)}`,
    '{"id": tru',
    '',
  ),
).map((s) => Buffer.from(s));
const invalidUtf8Body = fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.concat([Buffer.from('{"id":"'), Buffer.from(b), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]));
const req = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND'),
  path,
  query,
  headers: fc.array(header, { maxLength: 5 }),
  body: fc.option(fc.oneof(jsonBody, invalidUtf8Body), { nil: undefined }),
});

/** The raw request text. A header value with CR/LF goes out as is (it splits into two header lines). */
function raw(r: { method: string; path: string; query: string | undefined; headers: Array<[string, string]>; body: Buffer | undefined }): Buffer {
  const target = `${r.path}${r.query !== undefined ? `?${r.query}` : ''}`;
  const lines = [`${r.method} ${target.replace(/[ \r\n]/g, '%20')} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of r.headers) lines.push(`${k}: ${v}`);
  if (r.body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${r.body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), r.body ?? Buffer.alloc(0)]);
}

/** Splits a response: status, lower-cased headers, body. */
function parse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const head = text.indexOf('\r\n\r\n');
  expect(head, `no header section in ${JSON.stringify(text.slice(0, 200))}`).toBeGreaterThan(0);
  const [statusLine, ...lines] = text.slice(0, head).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine!);
  expect(m, `bad status line ${JSON.stringify(statusLine)}`).not.toBeNull();
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(m![1]), headers, body: text.slice(head + 4) };
}

describe('the HTTP surface against a real attache and backend', () => {
  it(
    'every answer well-formed, every error a Status in JSON, no 5xx the backend did not cause, memory bounded',
    async () => {
      const rss0 = process.memoryUsage().rss;
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(req, async (r) => {
          const text = await rawRequest(port, raw(r), { timeoutMs: 10_000 });
          const res = parse(text);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const asked = r.headers.some(([k]) => /^(grpc-timeout|x-request-timeout)$/i.test(k));
          expect(res.status >= 500 && !(res.status === 504 && asked), `a ${res.status} the backend did not cause: ${res.body}`).toBe(false);
          if (res.status >= 400 && r.method !== 'HEAD') {
            expect(res.headers['content-type'], res.body).toMatch(/^application\/json/);
            const body: unknown = JSON.parse(res.body.replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ''));
            expect(body).toMatchObject({ code: expect.any(Number), message: expect.any(String), details: expect.any(Array) });
          }
        }),
        fuzzParams(400),
      );
      console.log(`HTTP surface fuzz: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
      expect((await request(`${attache.adminUrl}/healthz`)).status).toBe(200);
      expect((await request(`${attache.url}/v1/echo/after-fuzz`)).status).toBe(200);
      expect(process.memoryUsage().rss - rss0).toBeLessThan(200 * 1024 * 1024);
    },
    fuzzTimeoutMs(120_000, 400),
  );
});
