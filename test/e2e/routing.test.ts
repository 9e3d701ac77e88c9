/**
 * End to end, part A: routing. Real HTTP into a real attache, real gRPC out to the recording fixture server
 * (test/support/grpc-server.ts). Each row asserts what the user sees (status, headers, body) and what the
 * upstream received.
 *
 * Covers every HttpRule feature of google/api/http.proto that the fixture README lists, percent-decoding of
 * path variables (http.proto: single-segment variables decode everything, multi-segment ones keep %2F),
 * and the 404 / 405 answers of docs/mapping.md "Translation rules".
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { rawRequest, request, type HttpResponse } from '../support/http.js';

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

beforeEach(() => server.reset());

/** Sends one request to attache. A non-string body is sent as JSON. */
function send(method: string, path: string, body?: object | string): Promise<HttpResponse> {
  return request(attache.url + path, { method, ...(body === undefined ? {} : { body }) });
}

/** Asserts the contract's error shape (docs/mapping.md "Translation rules", Errors) and returns the parsed body. */
function expectStatusBody(res: HttpResponse, httpStatus: number, code: number): { code: number; message: string; details: unknown[] } {
  expect(res.status, res.body).toBe(httpStatus);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
  expect(res.headers['x-request-id']).not.toBe('');
  const body = res.json as { code: number; message: string; details: unknown[] };
  expect(body).toEqual({ code, message: expect.any(String), details: expect.any(Array) });
  expect(body.message).not.toBe('');
  return body;
}

describe('HttpRule features: which method is called and what it receives', () => {
  // [http method, path, gRPC method, JSON body, the request as the upstream decoded it]
  it.each<[string, string, string, object | undefined, Record<string, unknown>]>([
    ['GET', '/v1/echo/abc', 'GetEcho', undefined, { id: 'abc' }],
    ['POST', '/v1/echo', 'Echo', { id: 'b1', flag: true }, { id: 'b1', flag: true }],
    // additional binding: body "*" plus a path variable
    ['POST', '/v1/echo/p1', 'Echo', { flag: true }, { id: 'p1', flag: true }],
    // nested field path
    ['GET', '/v1/books/b1', 'GetBook', undefined, { book: { name: 'b1' } }],
    // two variables, one nested (additional binding)
    ['GET', '/v1/ids/i1/books/b1', 'GetBook', undefined, { id: 'i1', book: { name: 'b1' } }],
    // {name=shelves/*/books/*} (annotation): the variable captures its literal segments too
    ['GET', '/v1/shelves/s/books/b', 'GetShelfBook', undefined, { name: 'shelves/s/books/b' }],
    // {path=**}
    ['GET', '/v1/files/a/b/c.txt', 'GetFile', undefined, { path: 'a/b/c.txt' }],
    ['GET', '/v1/files/one', 'GetFile', undefined, { path: 'one' }],
    // :verb next to the plain route, with the same HTTP method
    ['GET', '/v1/things/t1', 'GetThing', undefined, { id: 't1' }],
    ['GET', '/v1/things/t1:archive', 'ArchiveThing', undefined, { id: 't1' }],
    ['POST', '/v1/things/t1:archive', 'ArchiveThing', { flag: true }, { id: 't1', flag: true }],
    // DELETE (annotation) on the same path as GetThing
    ['DELETE', '/v1/things/t1', 'DeleteThing', undefined, { id: 't1' }],
    // precedence: literal > `*` > `**`, although the `**` rule is listed first in the mapping file
    ['GET', '/v1/prec/special', 'PrecLiteral', undefined, {}],
    ['GET', '/v1/prec/x', 'PrecSingle', undefined, { id: 'x' }],
    ['GET', '/v1/prec/a/b', 'PrecWild', undefined, { path: 'a/b' }],
    ['GET', '/v1/prec/special/more', 'PrecWild', undefined, { path: 'special/more' }],
    // body "book": the JSON body is the Book; the path and the query fill the rest
    ['POST', '/v1/shelves/s1/books?kind=KIND_BOOK', 'CreateBook', { name: 'n', pages: '3' }, { id: 's1', kind: 'KIND_BOOK', book: { name: 'n', pages: '3' } }],
    ['PUT', '/v1/books/b1', 'UpdateBook', { name: 'n', tags: ['x'] }, { id: 'b1', book: { name: 'n', tags: ['x'] } }],
    ['PATCH', '/v1/books/b1?mask=pages,tags', 'PatchBook', { pages: 5, tags: ['a'] }, { id: 'b1', book: { pages: '5', tags: ['a'] }, mask: { paths: ['pages', 'tags'] } }],
    // additional_bindings with another method, another body and a pattern variable
    ['GET', '/v1/multi/m1', 'MultiBinding', undefined, { id: 'm1' }],
    ['POST', '/v1/multi', 'MultiBinding', { id: 'm2', nums: [1] }, { id: 'm2', nums: [1] }],
    ['GET', '/v1/alt/shelves/s9', 'MultiBinding', undefined, { name: 'shelves/s9' }],
    // custom kind PURGE (annotation)
    ['PURGE', '/v1/cache/c1', 'Purge', undefined, { id: 'c1' }],
    // the mapping rule replaces the annotation
    ['GET', '/v1/overridden/o1', 'Overridden', undefined, { id: 'o1' }],
  ])('%s %s → %s', async (method, path, grpcMethod, body, received) => {
    const res = await send(method, path, body);
    expect(res.status, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    expect((res.json as { method: string }).method).toBe(grpcMethod);
    const call = await server.waitForCall(grpcMethod);
    expect(call.request).toEqual(received);
  });

  it('answers the echo as proto3 JSON: lowerCamelCase names, int64 as strings, defaults omitted', async () => {
    const res = await send('GET', '/v1/echo/e1?book.pages=7&display_name=T&book.published_at=2024-01-02T03:04:05Z');
    expect(res.status, res.body).toBe(200);
    expect(res.json).toEqual({
      received: { id: 'e1', book: { pages: '7', publishedAt: '2024-01-02T03:04:05Z' }, title: 'T' },
      method: 'GetEcho',
      book: { pages: '7', publishedAt: '2024-01-02T03:04:05Z' },
    });
  });

  it('the annotation path of a rule replaced by a mapping rule is a 404', async () => {
    const res = await send('GET', '/v1/annotation-overridden/o1');
    expectStatusBody(res, 404, 5);
    expect(server.calls).toEqual([]);
  });
});

describe('response_body', () => {
  it.each<[string, unknown]>([
    // the HTTP body is the echoed request only
    ['/v1/rb/received/r1?flag=true&book.pages=2', { id: 'r1', flag: true, book: { pages: '2' } }],
    // a message field
    ['/v1/rb/book/r2?book.name=n&book.tags=t', { name: 'n', tags: ['t'] }],
    // a repeated field: the HTTP body is a JSON array
    ['/v1/rb/tags/r3?book.tags=a&book.tags=b', ['a', 'b']],
    // an empty repeated field is still an array, not an omitted value
    ['/v1/rb/tags/r4', []],
  ])('GET %s', async (path, expected) => {
    const res = await send('GET', path);
    expect(res.status, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json).toEqual(expected);
  });
});

describe('percent-encoding in the path (google/api/http.proto)', () => {
  // [path, gRPC method, the request as the upstream decoded it]
  it.each<[string, string, Record<string, unknown>]>([
    // a single-segment variable decodes everything, %2F included
    ['/v1/echo/a%2Fb', 'GetEcho', { id: 'a/b' }],
    ['/v1/echo/a%2fb', 'GetEcho', { id: 'a/b' }],
    ['/v1/echo/caf%C3%A9', 'GetEcho', { id: 'café' }],
    ['/v1/echo/a%20b%3Ac', 'GetEcho', { id: 'a b:c' }],
    ['/v1/echo/%25', 'GetEcho', { id: '%' }],
    // '+' is a plus in a path (form decoding is for the query only); '*' and ';' are data
    ['/v1/echo/a+b', 'GetEcho', { id: 'a+b' }],
    ['/v1/prec/*', 'PrecSingle', { id: '*' }],
    ['/v1/echo/%2A;x=1', 'GetEcho', { id: '*;x=1' }],
    ['/v1/echo/%F0%9F%98%80', 'GetEcho', { id: '\u{1F600}' }],
    ['/v1/books/x%3Fy', 'GetBook', { book: { name: 'x?y' } }],
    // a multi-segment variable keeps %2F as received and decodes the rest
    ['/v1/files/a%2Fb/c', 'GetFile', { path: 'a%2Fb/c' }],
    ['/v1/files/a/b%20c.txt', 'GetFile', { path: 'a/b c.txt' }],
    ['/v1/shelves/s%2F1/books/b', 'GetShelfBook', { name: 'shelves/s%2F1/books/b' }],
    // an escaped literal matches the literal
    ['/v1/prec/speci%61l', 'PrecLiteral', {}],
    ['/v1/%74hings/t1', 'GetThing', { id: 't1' }],
    // an escaped ':' is data, not a verb separator
    ['/v1/things/t1%3Aarchive', 'GetThing', { id: 't1:archive' }],
  ])('GET %s → %s', async (path, grpcMethod, received) => {
    const res = await send('GET', path);
    expect(res.status, res.body).toBe(200);
    expect((res.json as { method: string }).method).toBe(grpcMethod);
    const call = await server.waitForCall(grpcMethod);
    expect(call.request).toEqual(received);
  });

  it.each([
    ['/v1/echo/%zz'],
    ['/v1/echo/%4'],
    ['/v1/echo/%C3%28'], // invalid UTF-8
    ['/v1/echo/%C0%AF'], // overlong '/'
    ['/v1/files/a/%ED%A0%80'], // a surrogate, inside `**`
    ['/v1/no/such/route/%zz'],
  ])('GET %s → 400 in the contract shape, upstream not called', async (path) => {
    const res = await send('GET', path);
    expectStatusBody(res, 400, 3);
    expect(server.calls).toEqual([]);
    // the next request on the same attache still succeeds
    const next = await send('GET', '/v1/echo/ok');
    expect(next.status).toBe(200);
  });
});

describe('404 and 405', () => {
  it.each([
    ['GET', '/v1/nope'],
    ['GET', '/'],
    ['GET', '/v1/ech'],
    ['GET', '/v1/echo/a/b'], // longer than the route
    ['POST', '/v2/echo'],
  ])('%s %s → 404 code 5', async (method, path) => {
    const res = await send(method, path);
    const body = expectStatusBody(res, 404, 5);
    expect(body.details).toEqual([]);
    expect(res.headers['allow']).toBeUndefined();
    expect(server.calls).toEqual([]);
  });

  // A ':' that names no verb route is data: the plain route's `{id}` takes it (the template parser's rule).
  it.each([
    ['GET', '/v1/things/t1:nope', 'GetThing', 't1:nope'],
    ['DELETE', '/v1/things/t1:archive', 'DeleteThing', 't1:archive'],
  ])('%s %s → %s with id %s', async (method, path, grpcMethod, id) => {
    const res = await send(method, path);
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall(grpcMethod)).request).toEqual({ id });
  });

  // [method, path, sorted Allow]
  it.each([
    ['PATCH', '/v1/things/x', 'DELETE, GET'],
    ['PUT', '/v1/echo', 'POST'],
    ['GET', '/v1/multi', 'POST'],
    ['DELETE', '/v1/books/b1', 'GET, PATCH, PUT'],
    ['PURGE', '/v1/echo/x', 'GET, POST'],
    ['GET', '/v1/echo', 'POST'],
    // the verb routes (GET, POST) and the plain route reading `{id}` as "t1:archive" (DELETE, GET)
    ['PUT', '/v1/things/t1:archive', 'DELETE, GET, POST'],
  ])('%s %s → 405 with Allow: %s', async (method, path, allow) => {
    const res = await send(method, path);
    const body = expectStatusBody(res, 405, 12);
    expect(body.details).toEqual([]);
    expect(res.headers['allow']).toBe(allow);
    expect(server.calls).toEqual([]);
  });

  it('echoes the client X-Request-Id on a 404 and a 405', async () => {
    const notFound = await request(`${attache.url}/v1/nope`, { headers: { 'x-request-id': 'rid-404' } });
    expect(notFound.status).toBe(404);
    expect(notFound.headers['x-request-id']).toBe('rid-404');
    const notAllowed = await request(`${attache.url}/v1/things/x`, { method: 'PATCH', headers: { 'x-request-id': 'rid-405' } });
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers['x-request-id']).toBe('rid-405');
  });
});

describe('request targets', () => {
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

  it('accepts the absolute-form (RFC 9112 §3.2.2): the authority is not part of the route', async () => {
    const port = new URL(attache.url).port;
    const text = await rawRequest(Number(port), 'GET http://example.test:8080/v1/echo/abs?nums=7 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    const call = await server.waitForCall('GetEcho');
    expect(call.request).toMatchObject({ id: 'abs', nums: [7] });
  });
});
