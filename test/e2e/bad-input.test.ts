/**
 * End to end, part A: hostile and broken input. Every row must end in a 4xx in the contract's shape
 * (docs/mapping.md "Translation rules", Errors: `{"code","message","details"}`, JSON, X-Request-Id) without calling the upstream,
 * and attache must keep serving: each row is followed by a request that has to succeed.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { rawRequest, request, type HttpResponse } from '../support/http.js';

let server: TestServer;
/** Default settings (4 MiB body limit, strict JSON). */
let attache: TestAttache;
/** --body-limit 1KiB. */
let small: TestAttache;
/** --ignore-unknown-fields --strict-query: pollution attempts must not get through either leniency. */
let lenient: TestAttache;

beforeAll(async () => {
  server = await startTestServer();
  const base = ['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target];
  [attache, small, lenient] = await Promise.all([
    startAttache(base),
    startAttache([...base, '--body-limit', '1KiB']),
    startAttache([...base, '--ignore-unknown-fields']),
  ]);
});

afterAll(async () => {
  await Promise.all([attache?.stop(), small?.stop(), lenient?.stop()]);
  await server?.close();
});

beforeEach(() => server.reset());

afterEach(() => {
  // Nothing a request sent may have reached Object.prototype.
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
});

function postJson(on: TestAttache, path: string, body: string): Promise<HttpResponse> {
  return request(on.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
}

/** Asserts a contract-shaped error with `httpStatus` and `code`; returns the body. */
function expectError(res: HttpResponse, httpStatus: number, code: number): { code: number; message: string; details: unknown[] } {
  expect(res.status, res.body).toBe(httpStatus);
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
  const body = res.json as { code: number; message: string; details: unknown[] };
  expect(body).toEqual({ code, message: expect.any(String), details: expect.any(Array) });
  return body;
}

/** The field names of the BadRequest detail. */
function violations(body: { details: unknown[] }): string[] {
  const br = body.details.find((d) => (d as { '@type'?: string })['@type'] === 'type.googleapis.com/google.rpc.BadRequest') as
    | { fieldViolations: { field: string }[] }
    | undefined;
  return (br?.fieldViolations ?? []).map((v) => v.field);
}

/** Asserts that `on` still serves an ordinary request. */
async function expectStillServing(on: TestAttache = attache): Promise<void> {
  const res = await request(`${on.url}/v1/echo/after?title=ok`);
  expect(res.status, res.body).toBe(200);
  expect(res.json).toEqual({ received: { id: 'after', title: 'ok' }, method: 'GetEcho' });
}

describe('malformed JSON → 400', () => {
  it.each([
    ['{"id":"a",'],
    ['{'],
    ['not json'],
    ['{"id":"a"}}'],
    ['{"id":"a"} {"id":"b"}'],
    ['{"id" "a"}'],
    ["{'id':'a'}"],
    ['{"id":"a",}'],
    ['{"nums":[1,]}'],
    ['{"ratio":NaN}'],
    ['{"ratio":01}'],
    ['{"id":"\\x41"}'],
    ['{"id":"unterminated}'],
    ['{"id":"a\u0001b"}'], // a raw control character inside a string
    ['\u00ef\u00bb\u00bf{}'], // a BOM mis-decoded as Latin-1
  ])('%s', async (body) => {
    expectError(await postJson(attache, '/v1/echo', body), 400, 3);
    expect(server.calls).toEqual([]);
    await expectStillServing();
  });

  it('malformed JSON in a body-"book" route → 400', async () => {
    expectError(await request(`${attache.url}/v1/books/b1`, { method: 'PUT', body: '{"name":', headers: { 'content-type': 'application/json' } }), 400, 3);
    await expectStillServing();
  });
});

describe('wrong JSON types → 400 naming the field', () => {
  // [body, the field named]
  it.each([
    ['{"flag":"true"}', 'flag'], // a string for a bool
    ['{"flag":1}', 'flag'],
    ['{"id":{}}', 'id'], // an object for a string
    ['{"id":1}', 'id'],
    ['{"book":[]}', 'book'], // an array for a message
    ['{"book":"b"}', 'book'],
    ['{"nums":1}', 'nums'], // a scalar for a repeated field
    ['{"nums":["x"]}', 'nums[0]'],
    ['{"nums":[1,2.5]}', 'nums[1]'],
    ['{"nums":[2147483648]}', 'nums[0]'],
    ['{"nums":[null]}', 'nums[0]'],
    ['{"labels":[]}', 'labels'],
    ['{"labels":{"k":1}}', 'labels["k"]'],
    ['{"kind":"KIND_NOPE"}', 'kind'],
    ['{"kind":true}', 'kind'],
    ['{"book":{"pages":1.5}}', 'book.pages'],
    ['{"book":{"pages":"12x"}}', 'book.pages'],
    ['{"book":{"pages":"9223372036854775808"}}', 'book.pages'],
    ['{"big":-1}', 'big'],
    ['{"ratio":"abc"}', 'ratio'],
    ['{"blob":"***"}', 'blob'],
    ['{"timeout":5}', 'timeout'],
    ['{"timeout":"5"}', 'timeout'],
    ['{"mask":["a"]}', 'mask'],
    ['{"count":{}}', 'count'],
    ['{"attrs":[]}', 'attrs'],
    ['{"book":{"published_at":"2024-13-01T00:00:00Z"}}', 'book.published_at'],
    ['{"extra":{"value":"x"}}', 'extra'], // an Any without @type
    ['{"extra":{"@type":"type.googleapis.com/not.a.Known"}}', 'extra["@type"]'],
    ['{"choiceText":"a","choice_number":1}', 'choice_number'], // two members of one oneof
  ])('%s → 400 naming "%s"', async (body, field) => {
    const res = expectError(await postJson(attache, '/v1/echo', body), 400, 3);
    expect(violations(res)).toEqual([field]);
    expect(server.calls).toEqual([]);
    await expectStillServing();
  });
});

describe('__proto__ and constructor keys never reach a prototype', () => {
  // Unknown to EchoRequest: rejected by name.
  it.each([
    ['{"__proto__":{"polluted":true}}', '__proto__'],
    ['{"constructor":{"prototype":{"polluted":true}}}', 'constructor'],
    ['{"book":{"__proto__":{"polluted":true}}}', 'book.__proto__'],
    ['{"id":"a","__proto__":null}', '__proto__'],
  ])('%s → 400 naming "%s"', async (body, field) => {
    const res = expectError(await postJson(attache, '/v1/echo', body), 400, 3);
    expect(violations(res)).toEqual([field]);
    await expectStillServing();
  });

  // As map and Struct keys they are user data: carried through as plain keys, nothing else.
  it('as a map key and as Struct keys they are ordinary data', async () => {
    const body = '{"labels":{"__proto__":"x","constructor":"y"},"attrs":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}';
    const res = await postJson(attache, '/v1/echo', body);
    expect(res.status, res.body).toBe(200);
    const received = (JSON.parse(res.body) as { received: Record<string, Record<string, unknown>> }).received;
    expect(Object.keys(received['labels']!)).toEqual(['__proto__', 'constructor']);
    expect(Object.keys(received['attrs']!)).toEqual(['__proto__', 'constructor']);
    const call = await server.waitForCall('Echo');
    const labels = (call.request as { labels: Record<string, unknown> }).labels;
    expect(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value).toBe('x');
    expect(Object.getOwnPropertyDescriptor(labels, 'constructor')?.value).toBe('y');
  });

  it('--ignore-unknown-fields skips them instead of setting them', async () => {
    const res = await postJson(lenient, '/v1/echo', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"book":{"__proto__":{"polluted":true}},"id":"a"}');
    expect(res.status, res.body).toBe(200);
    expect(res.json).toEqual({ received: { id: 'a', book: {} }, method: 'Echo', book: {} });
    await expectStillServing(lenient);
  });

  it.each([
    ['__proto__.polluted=true'],
    ['constructor.prototype.polluted=true'],
    ['book.__proto__.polluted=true'],
    ['__proto__[polluted]=true'],
  ])('query ?%s is an unknown parameter, ignored', async (query) => {
    const res = await request(`${attache.url}/v1/echo/q?${query}`);
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('GetEcho')).request).toEqual({ id: 'q' });
  });

  it('query ?labels[__proto__]=x sets a map entry named "__proto__"', async () => {
    const res = await request(`${attache.url}/v1/echo/q?labels[__proto__]=x&labels[constructor]=y`);
    expect(res.status, res.body).toBe(200);
    expect(Object.keys((JSON.parse(res.body) as { received: { labels: object } }).received.labels)).toEqual(['__proto__', 'constructor']);
  });
});

describe('body size', () => {
  it('over --body-limit 1KiB → 413 in the contract shape (RESOURCE_EXHAUSTED), then serving again', async () => {
    const big = JSON.stringify({ id: 'x'.repeat(2048) });
    const body = expectError(await postJson(small, '/v1/echo', big), 413, 8);
    expect(body.message).toMatch(/1024/);
    expect(server.calls).toEqual([]);
    await expectStillServing(small);
    const fits = await postJson(small, '/v1/echo', JSON.stringify({ id: 'x'.repeat(900) }));
    expect(fits.status, fits.body).toBe(200);
  });

  it('a chunked body over the limit → 413 too', async () => {
    const chunk = `{"id":"${'x'.repeat(1500)}"}`;
    const text = await rawRequest(
      small.running.port,
      `POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/\r\nx-request-id: /i);
    expect(text.slice(text.indexOf('\r\n\r\n') + 4)).toContain('"code":8');
    await expectStillServing(small);
  });

  it('a repeated field of 50,000 ints → 200, all of them upstream, in bounded time', async () => {
    const nums = Array.from({ length: 50_000 }, (_, i) => i - 25_000);
    const started = Date.now();
    const res = await postJson(attache, '/v1/echo', JSON.stringify({ nums }));
    expect(res.status, res.body.slice(0, 200)).toBe(200);
    expect(Date.now() - started).toBeLessThan(5_000);
    const received = (await server.waitForCall('Echo')).request as { nums: number[] };
    expect(received.nums).toEqual(nums);
    expect((res.json as { received: { nums: number[] } }).received.nums).toHaveLength(50_000);
  });
});

describe('deep nesting', () => {
  /** A Struct value nested `depth` objects deep: {"a":{"a":…{}}}. */
  const deepStruct = (depth: number): string => `{"attrs":${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}}`;

  it.each([
    ['a Struct 200 levels deep', deepStruct(200)],
    ['a ListValue 200 levels deep', `{"attrs":{"l":${'['.repeat(200)}${']'.repeat(200)}}}`],
    ['100,000 open brackets', `{"attrs":{"l":${'['.repeat(100_000)}`],
    ['nested unknown fields, 10,000 deep', `{"nope":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`],
  ])('%s → 400', async (_name, body) => {
    expectError(await postJson(attache, '/v1/echo', body), 400, 3);
    expect(server.calls).toEqual([]);
    await expectStillServing();
  });

  it('10,000-deep unknown fields with --ignore-unknown-fields → 400 (depth is bounded before skipping)', async () => {
    expectError(await postJson(lenient, '/v1/echo', `{"nope":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`), 400, 3);
    await expectStillServing(lenient);
  });

  it('a Struct 30 levels deep is fine', async () => {
    const res = await postJson(attache, '/v1/echo', deepStruct(30));
    expect(res.status, res.body).toBe(200);
  });
});

describe('bad percent-escapes', () => {
  it.each([
    ['/v1/echo/%zz'],
    ['/v1/echo/a%2'],
    ['/v1/echo/%C3%28'],
    ['/v1/echo/%FF'],
    ['/v1/files/a/%E2%82'],
    ['/v1/things/t1:%zz'],
    ['/v1/echo/ok?title=%zz'],
    ['/v1/echo/ok?title=%C3%28'],
    ['/v1/echo/ok?ti%tle=x'],
    ['/v1/echo/ok?title=100%'],
  ])('GET %s → 400', async (path) => {
    expectError(await request(attache.url + path), 400, 3);
    expect(server.calls).toEqual([]);
    await expectStillServing();
  });
});
