/**
 * End to end, part A: query parameters. google/api/http.proto: "any fields in the request message which
 * are not bound by the path template automatically become HTTP query parameters", nested as `a.b=`,
 * repeated as `x=1&x=2`; docs/mapping.md adds enums by name or number, well-known types in their JSON string
 * form, both the JSON and the proto name, unknown parameters ignored (strict on request).
 *
 * Each row sends `GET /v1/echo/q?<query>` (GetEcho: `id` from the path, the rest from the query) and
 * asserts the request as the fixture server decoded it (proto names, int64 as strings, enums by name).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { request, type HttpResponse } from '../support/http.js';

let server: TestServer;
let attache: TestAttache;
let strict: TestAttache;

beforeAll(async () => {
  server = await startTestServer();
  const base = ['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target];
  [attache, strict] = await Promise.all([startAttache(base), startAttache([...base, '--strict-query'])]);
});

afterAll(async () => {
  await Promise.all([attache?.stop(), strict?.stop()]);
  await server?.close();
});

beforeEach(() => server.reset());

/** Asserts the contract's error shape and returns the BadRequest field names it reports. */
function expectBadRequest(res: HttpResponse): string[] {
  expect(res.status, res.body).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
  const body = res.json as { code: number; message: string; details: { '@type': string; fieldViolations?: { field: string }[] }[] };
  expect(body).toEqual({ code: 3, message: expect.any(String), details: expect.any(Array) });
  const br = body.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.BadRequest');
  return (br?.fieldViolations ?? []).map((v) => v.field);
}

describe('query parameters → request fields (GET /v1/echo/q?…)', () => {
  // [query, the request fields besides id:'q' as the upstream decoded them]
  it.each<[string, Record<string, unknown>]>([
    // nested fields, by proto and by JSON name
    ['book.pages=5', { book: { pages: '5' } }],
    ['book.name=n&book.pages=-3', { book: { name: 'n', pages: '-3' } }],
    ['book.tags=a&book.tags=b', { book: { tags: ['a', 'b'] } }],
    ['book.published_at=2024-01-02T03:04:05.5Z', { book: { published_at: { seconds: '1704164645', nanos: 500000000 } } }],
    ['book.publishedAt=2024-01-02T03:04:05.000001Z', { book: { published_at: { seconds: '1704164645', nanos: 1000 } } }],
    // repeated scalars and enums
    ['nums=1&nums=2', { nums: [1, 2] }],
    ['nums=1&nums=-2&nums=3', { nums: [1, -2, 3] }],
    ['kinds=KIND_BOOK&kinds=2', { kinds: ['KIND_BOOK', 'KIND_MAGAZINE'] }],
    // enums by name and by number
    ['kind=KIND_BOOK', { kind: 'KIND_BOOK' }],
    ['kind=2', { kind: 'KIND_MAGAZINE' }],
    // scalars
    ['flag=true', { flag: true }],
    ['ratio=1.5', { ratio: 1.5 }],
    ['ratio=-0.25e1', { ratio: -2.5 }],
    ['big=18446744073709551615', { big: '18446744073709551615' }],
    ['big=9007199254740993', { big: '9007199254740993' }],
    ['choice_text=x', { choice_text: 'x' }],
    ['choiceNumber=7', { choice_number: 7 }],
    // well-known types in their JSON string form
    ['timeout=1.5s', { timeout: { seconds: '1', nanos: 500000000 } }],
    ['timeout=-2.000000001s', { timeout: { seconds: '-2', nanos: -1 } }],
    ['mask=a.b,c', { mask: { paths: ['a.b', 'c'] } }],
    ['mask=bookName,fooBar.baz', { mask: { paths: ['book_name', 'foo_bar.baz'] } }],
    ['count=5', { count: { value: '5' } }],
    ['count=-9223372036854775808', { count: { value: '-9223372036854775808' } }],
    ['nickname=bob', { nickname: { value: 'bob' } }],
    // The wrapper is present and empty on the wire (its `value` has implicit presence), as protobuf-go encodes it.
    ['enabled=false', { enabled: {} }],
    ['enabled=true', { enabled: { value: true } }],
    // bytes: standard and URL-safe base64
    ['blob=AP8%3D', { blob: Buffer.from([0x00, 0xff]) }],
    ['blob=AP8', { blob: Buffer.from([0x00, 0xff]) }],
    ['blob=-_8%3D', { blob: Buffer.from([0xfb, 0xff]) }],
    ['blob=%2B%2F8%3D', { blob: Buffer.from([0xfb, 0xff]) }],
    // a map entry, with plain and percent-encoded brackets
    ['labels[k]=v', { labels: { k: 'v' } }],
    ['labels%5Bk%5D=v&labels[j]=w', { labels: { k: 'v', j: 'w' } }],
    // JSON name and proto name of a field with json_name
    ['title=T', { display_name: 'T' }],
    ['display_name=T', { display_name: 'T' }],
    // form decoding: '+' is a space, %2B a plus, percent-escapes in names and values
    ['title=a+b', { display_name: 'a b' }],
    ['title=a%2Bb', { display_name: 'a+b' }],
    ['title=caf%C3%A9%20%26%3D', { display_name: 'café &=' }],
    ['%74itle=x', { display_name: 'x' }],
    ['title=a=b', { display_name: 'a=b' }],
    ['title=a;b', { display_name: 'a;b' }],
    ['title=%F0%9F%98%80', { display_name: '\u{1F600}' }],
    // empty and valueless pairs are harmless
    ['&&title=x&', { display_name: 'x' }],
    // fields bound by the path are not overridden by the query
    ['id=other', {}],
    ['id=other&title=t', { display_name: 't' }],
    // unknown parameters are ignored by default
    ['nope=1&book.nope=2&title=t', { display_name: 't' }],
    ['utm_source=x', {}],
  ])('?%s', async (query, fields) => {
    const res = await request(`${attache.url}/v1/echo/q?${query}`);
    expect(res.status, res.body).toBe(200);
    expect((res.json as { method: string }).method).toBe('GetEcho');
    const call = await server.waitForCall('GetEcho');
    expect(call.request).toEqual({ id: 'q', ...fields });
  });

  // Implicit-presence fields holding their default value are not serialized (proto3), so the upstream must
  // see them as absent. The codec's encode writes every property of the plain object, zeros included, and
  // its Timestamp/Duration readers always store `nanos`.
  it.each<[string, Record<string, unknown>]>([
    ['flag=false&kind=0&ratio=0&title=&big=0', {}],
    ['timeout=2s', { timeout: { seconds: '2' } }],
    ['book.published_at=2024-01-02T03:04:05Z', { book: { published_at: { seconds: '1704164645' } } }],
  ])('?%s puts no default value on the wire', async (query, fields) => {
    const res = await request(`${attache.url}/v1/echo/q?${query}`);
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('GetEcho')).request).toEqual({ id: 'q', ...fields });
  });

  it('a nested path variable is not overridden either: GET /v1/books/b1?book.name=x&book.pages=2', async () => {
    const res = await request(`${attache.url}/v1/books/b1?book.name=x&book.pages=2`);
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('GetBook')).request).toEqual({ book: { name: 'b1', pages: '2' } });
  });

  it('the body field is not overridden: POST /v1/shelves/s1/books?book.name=q&kind=2 with body {"name":"n"}', async () => {
    const res = await request(`${attache.url}/v1/shelves/s1/books?book.name=q&id=z&kind=2`, { method: 'POST', body: { name: 'n' } });
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('CreateBook')).request).toEqual({ id: 's1', kind: 'KIND_MAGAZINE', book: { name: 'n' } });
  });

  it('with body "*" the query string is not read: POST /v1/echo?title=q', async () => {
    const res = await request(`${attache.url}/v1/echo?title=q&nope=1`, { method: 'POST', body: { id: 'b' } });
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('Echo')).request).toEqual({ id: 'b' });
  });
});

describe('bad query parameters → 400 naming the parameter, and the next request still works', () => {
  // [query, the field a BadRequest violation names]
  it.each([
    ['nums=x', 'nums'],
    ['nums=1&nums=2.5', 'nums'],
    ['nums=99999999999', 'nums'],
    ['book.pages=ten', 'book.pages'],
    ['kind=KIND_NOPE', 'kind'],
    ['flag=yes', 'flag'],
    ['ratio=abc', 'ratio'],
    ['timeout=5', 'timeout'],
    ['count=1.5', 'count'],
    ['big=-1', 'big'],
    ['blob=%%%', 'blob'],
    ['book.published_at=yesterday', 'book.published_at'],
    ['enabled=maybe', 'enabled'],
    ['title=%zz', 'title'],
    ['title=%C3%28', 'title'],
    ['%zz=1', '%zz'],
    ['choice_text=a&choice_number=1', 'choice_number'],
    ['book=x', 'book'],
    ['labels=x', 'labels'],
    ['title[k]=v', 'title'],
  ])('?%s → 400 naming "%s"', async (query, field) => {
    const res = await request(`${attache.url}/v1/echo/q?${query}`);
    const fields = expectBadRequest(res);
    expect(fields.some((f) => f === field || f.startsWith(field)), `violations: ${JSON.stringify(fields)}`).toBe(true);
    expect(server.calls).toEqual([]);
    const next = await request(`${attache.url}/v1/echo/q?title=ok`);
    expect(next.status).toBe(200);
  });
});

describe('--strict-query', () => {
  it.each([['nope=1'], ['book.nope=1'], ['title=t&extra=1'], ['labels.k=v']])('?%s → 400 naming the unknown parameter', async (query) => {
    const res = await request(`${strict.url}/v1/echo/q?${query}`);
    const fields = expectBadRequest(res);
    const unknown = query.split('&').find((p) => !p.startsWith('title='))!.split('=')[0]!;
    expect(fields).toContain(unknown);
    expect(server.calls).toEqual([]);
  });

  it('known parameters still work, and a path-bound one is not "unknown"', async () => {
    const res = await request(`${strict.url}/v1/echo/q?title=t&nums=1&id=z`);
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('GetEcho')).request).toEqual({ id: 'q', display_name: 't', nums: [1] });
  });
});
