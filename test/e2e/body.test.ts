/**
 * End to end, part A: JSON bodies in and out. The proto3 JSON mapping (https://protobuf.dev/programming-guides/json/)
 * as docs/mapping.md "Translation rules" words it: both the JSON name and the proto name accepted in, lowerCamelCase
 * out, 64-bit integers as strings out and strings or numbers in (precision kept past 2^53), unknown body
 * fields a 400 naming the field (switchable), and the output options, globally and per rule.
 */
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { request, type HttpResponse } from '../support/http.js';

let server: TestServer;
let base: string[];
/** Default settings. */
let attache: TestAttache;
/** One instance per global option, by flag. */
const byFlag = new Map<string, TestAttache>();
/** A mapping folder with an `attache: rules:` block (per-rule JSON options). */
let perRule: TestAttache;
let tmpDir: string;

const FLAGS = ['--emit-unpopulated', '--use-proto-names', '--enums-as-numbers', '--int64-as-numbers', '--ignore-unknown-fields'] as const;

/** Per-rule options: GetThing emits unpopulated fields with proto names, Echo ignores unknown fields. */
const PER_RULE_YAML = `type: google.api.Service
config_version: 3
name: e2e.example.com
attache:
  rules:
    - selector: e2e.v1.EchoService.GetThing
      json:
        emitUnpopulated: true
        useProtoNames: true
    - selector: e2e.v1.EchoService.Echo
      json:
        ignoreUnknownFields: true
        enumsAsNumbers: true
`;

beforeAll(async () => {
  server = await startTestServer();
  base = ['--protos', E2E_PROTOS_DIR, '--upstream', server.target];
  tmpDir = mkdtempSync(path.join(os.tmpdir(), 'attache-e2e-body-'));
  for (const f of ['echo.yaml', 'backend.yaml']) copyFileSync(path.join(E2E_MAPPINGS_DIR, f), path.join(tmpDir, f));
  writeFileSync(path.join(tmpDir, 'json-rules.yaml'), PER_RULE_YAML);
  const started = await Promise.all([
    startAttache([...base, '--mappings', E2E_MAPPINGS_DIR]),
    startAttache([...base, '--mappings', tmpDir]),
    ...FLAGS.map((flag) => startAttache([...base, '--mappings', E2E_MAPPINGS_DIR, flag])),
  ]);
  attache = started[0]!;
  perRule = started[1]!;
  FLAGS.forEach((flag, i) => byFlag.set(flag, started[i + 2]!));
});

afterAll(async () => {
  await Promise.all([attache?.stop(), perRule?.stop(), ...[...byFlag.values()].map((a) => a.stop())]);
  await server?.close();
  if (tmpDir !== undefined) rmSync(tmpDir, { recursive: true, force: true });
});

beforeEach(() => server.reset());

/** POSTs `body` (sent as is, as JSON) to `path` of `on`. */
function post(on: TestAttache, urlPath: string, body: string): Promise<HttpResponse> {
  return request(on.url + urlPath, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
}

/** Asserts a 400 in the contract shape whose BadRequest names `field`. */
function expectFieldViolation(res: HttpResponse, field: string): void {
  expect(res.status, res.body).toBe(400);
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
  expect(res.json).toEqual({
    code: 3,
    message: expect.stringContaining(field),
    details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: expect.any(String) }] }],
  });
}

describe('JSON body in (POST /v1/echo, body "*")', () => {
  // [JSON body, the request as the upstream decoded it]
  it.each<[string, Record<string, unknown>]>([
    // JSON name and proto name
    ['{"title":"T"}', { display_name: 'T' }],
    ['{"display_name":"T"}', { display_name: 'T' }],
    ['{"choiceText":"x"}', { choice_text: 'x' }],
    ['{"choice_number":3}', { choice_number: 3 }],
    ['{"book":{"publishedAt":"2024-01-02T03:04:05.123Z"}}', { book: { published_at: { seconds: '1704164645', nanos: 123000000 } } }],
    ['{"book":{"published_at":"2024-01-02T03:04:05.5+01:00"}}', { book: { published_at: { seconds: '1704161045', nanos: 500000000 } } }],
    // int64 as a string and as a number
    ['{"book":{"pages":"5"}}', { book: { pages: '5' } }],
    ['{"book":{"pages":5}}', { book: { pages: '5' } }],
    ['{"book":{"pages":-5}}', { book: { pages: '-5' } }],
    ['{"book":{"pages":1e3}}', { book: { pages: '1000' } }],
    // precision past 2^53 is kept, from a string and from a bare number
    ['{"big":"9007199254740993"}', { big: '9007199254740993' }],
    ['{"big":9007199254740993}', { big: '9007199254740993' }],
    ['{"big":"18446744073709551615"}', { big: '18446744073709551615' }],
    ['{"book":{"pages":"-9223372036854775808"}}', { book: { pages: '-9223372036854775808' } }],
    ['{"count":"9223372036854775807"}', { count: { value: '9223372036854775807' } }],
    ['{"count":9223372036854775807}', { count: { value: '9223372036854775807' } }],
    // enums by name and by number, repeated and maps
    ['{"kind":"KIND_BOOK","kinds":["KIND_MAGAZINE",1]}', { kind: 'KIND_BOOK', kinds: ['KIND_MAGAZINE', 'KIND_BOOK'] }],
    ['{"kind":2}', { kind: 'KIND_MAGAZINE' }],
    ['{"nums":[1,-2,3],"labels":{"a":"b","":"empty"}}', { nums: [1, -2, 3], labels: { a: 'b', '': 'empty' } }],
    // bytes as base64 (standard and URL-safe)
    ['{"blob":"AP8="}', { blob: Buffer.from([0x00, 0xff]) }],
    ['{"blob":"-_8"}', { blob: Buffer.from([0xfb, 0xff]) }],
    // doubles, including the special strings
    ['{"ratio":1.5}', { ratio: 1.5 }],
    ['{"ratio":"NaN"}', { ratio: Number.NaN }],
    ['{"ratio":"-Infinity"}', { ratio: -Infinity }],
    // well-known types
    ['{"timeout":"1.5s","mask":"book.name,displayName"}', { timeout: { seconds: '1', nanos: 500000000 }, mask: { paths: ['book.name', 'display_name'] } }],
    // BoolValue{value: false} is present but empty on the wire (its `value` has implicit presence), exactly
    // as protobuf-go encodes it: the upstream sees the wrapper set, holding false.
    ['{"nickname":"n","enabled":false}', { nickname: { value: 'n' }, enabled: {} }],
    [
      '{"attrs":{"a":{"b":[1,"x",null,true]}}}',
      {
        attrs: {
          fields: {
            a: {
              structValue: {
                fields: {
                  b: { listValue: { values: [{ numberValue: 1 }, { stringValue: 'x' }, { nullValue: 'NULL_VALUE' }, { boolValue: true }] } },
                },
              },
            },
          },
        },
      },
    ],
    [
      '{"extra":{"@type":"type.googleapis.com/e2e.v1.Book","name":"n","pages":"2"}}',
      { extra: { type_url: 'type.googleapis.com/e2e.v1.Book', value: Buffer.from([0x0a, 0x01, 0x6e, 0x10, 0x02]) } },
    ],
    // null means "not set" for everything but Value
    ['{"id":"x","book":null,"nums":null,"timeout":null}', { id: 'x' }],
    // an empty body is an empty message
    ['', {}],
    ['  \n', {}],
    ['{}', {}],
  ])('%s', async (body, received) => {
    const res = await post(attache, '/v1/echo', body);
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('Echo')).request).toEqual(received);
  });

  it('a path variable wins over the same field in the body: POST /v1/echo/p1 {"id":"body"}', async () => {
    const res = await post(attache, '/v1/echo/p1', '{"id":"body","title":"t"}');
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('Echo')).request).toEqual({ id: 'p1', display_name: 't' });
  });

  it('body "book": the whole body is the Book (both names), the rest from the path and the query', async () => {
    const res = await post(attache, '/v1/shelves/s1/books?kind=1&title=q', '{"name":"n","published_at":"1970-01-01T00:00:01.25Z","tags":["a"]}');
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('CreateBook')).request).toEqual({
      id: 's1',
      kind: 'KIND_BOOK',
      display_name: 'q',
      book: { name: 'n', published_at: { seconds: '1', nanos: 250000000 }, tags: ['a'] },
    });
  });

  it('body "book": an EchoRequest field in the body is unknown to Book → 400', async () => {
    expectFieldViolation(await request(`${attache.url}/v1/books/b1`, { method: 'PUT', body: { name: 'n', title: 'x' } }), 'book.title');
  });

  // Implicit-presence fields holding their default value are not serialized (proto3; protobuf-go and C++ do
  // the same), so the upstream must see them as absent, as the fixture README's "only the fields that were on
  // the wire" shows. The codec's encode writes every property present in the plain object, zeros included.
  it('default values of implicit-presence fields are not put on the wire', async () => {
    const res = await post(attache, '/v1/echo', '{"id":"","flag":false,"kind":"KIND_UNSPECIFIED","ratio":0,"big":"0","timeout":"3s"}');
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('Echo')).request).toEqual({ timeout: { seconds: '3' } });
  });
});

describe('JSON out', () => {
  /** GET /v1/echo/x with a few fields set. */
  const QUERY = '/v1/echo/x?kind=KIND_BOOK&book.pages=5&big=9007199254740993&title=T';

  it('default: lowerCamelCase (json_name), int64 as strings, enums as names, defaults omitted', async () => {
    const res = await request(attache.url + QUERY);
    expect(res.status, res.body).toBe(200);
    expect(res.json).toEqual({
      received: { id: 'x', book: { pages: '5' }, kind: 'KIND_BOOK', big: '9007199254740993', title: 'T' },
      method: 'GetEcho',
      book: { pages: '5' },
    });
    // the precision is in the text, not only in what JSON.parse makes of it
    expect(res.body).toContain('"big":"9007199254740993"');
  });

  it('--emit-unpopulated: every field, defaults included (null for unset messages, oneofs left out)', async () => {
    const res = await request(byFlag.get('--emit-unpopulated')!.url + QUERY);
    expect(res.status, res.body).toBe(200);
    const book = { name: '', pages: '5', tags: [], publishedAt: null };
    expect(res.json).toEqual({
      received: {
        id: 'x', book, nums: [], kind: 'KIND_BOOK', labels: {}, flag: false, blob: '', ratio: 0, timeout: null, mask: null,
        count: null, path: '', name: '', title: 'T', big: '9007199254740993', kinds: [], attrs: null, extra: null,
        nickname: null, enabled: null,
      },
      method: 'GetEcho',
      metadata: {},
      book,
      tags: [],
      waitedMs: 0,
    });
  });

  it.each<[string, unknown]>([
    ['--use-proto-names', { received: { id: 'x', book: { pages: '5' }, kind: 'KIND_BOOK', big: '9007199254740993', display_name: 'T' }, method: 'GetEcho', book: { pages: '5' } }],
    ['--enums-as-numbers', { received: { id: 'x', book: { pages: '5' }, kind: 1, big: '9007199254740993', title: 'T' }, method: 'GetEcho', book: { pages: '5' } }],
  ])('%s', async (flag, expected) => {
    const res = await request(byFlag.get(flag)!.url + QUERY);
    expect(res.status, res.body).toBe(200);
    expect(res.json).toEqual(expected);
  });

  it('--int64-as-numbers: bare numbers in the text, exact digits', async () => {
    const res = await request(byFlag.get('--int64-as-numbers')!.url + QUERY);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain('"big":9007199254740993');
    expect(res.body).toContain('"pages":5');
    expect((res.json as { received: { kind: string } }).received.kind).toBe('KIND_BOOK');
  });

  it('the use-proto-names output is accepted back as input', async () => {
    const out = await request(`${byFlag.get('--use-proto-names')!.url}/v1/rb/received/x?title=T&choice_text=c&book.published_at=2024-01-02T03:04:05.001Z`);
    expect(out.status, out.body).toBe(200);
    expect(out.json).toEqual({ id: 'x', display_name: 'T', choice_text: 'c', book: { published_at: '2024-01-02T03:04:05.001Z' } });
    server.reset();
    const back = await post(attache, '/v1/echo', out.body);
    expect(back.status, back.body).toBe(200);
    expect((await server.waitForCall('Echo')).request).toEqual({
      id: 'x', display_name: 'T', choice_text: 'c', book: { published_at: { seconds: '1704164645', nanos: 1000000 } },
    });
  });
});

describe('unknown body fields', () => {
  it.each([
    ['{"nope":1}', 'nope'],
    ['{"id":"a","book":{"nope":true}}', 'book.nope'],
    ['{"Title":"x"}', 'Title'],
    ['{"displayName":"x"}', 'displayName'], // json_name is "title", so the camelCase of the proto name is unknown
    ['{"extra":{"@type":"type.googleapis.com/e2e.v1.Book","nope":1}}', 'extra.nope'],
  ])('%s → 400 naming "%s"', async (body, field) => {
    expectFieldViolation(await post(attache, '/v1/echo', body), field);
    expect(server.calls).toEqual([]);
  });

  it('--ignore-unknown-fields: accepted, and the known fields still arrive', async () => {
    const res = await post(byFlag.get('--ignore-unknown-fields')!, '/v1/echo', '{"nope":{"deep":[1,2]},"id":"a","book":{"nope":1,"name":"n"}}');
    expect(res.status, res.body).toBe(200);
    expect((await server.waitForCall('Echo')).request).toEqual({ id: 'a', book: { name: 'n' } });
  });

  it('--ignore-unknown-fields does not make a known field of the wrong type acceptable', async () => {
    expectFieldViolation(await post(byFlag.get('--ignore-unknown-fields')!, '/v1/echo', '{"nope":1,"flag":"yes"}'), 'flag');
  });
});

describe('per-rule JSON options (attache: rules: in a mapping file)', () => {
  it('GetThing: emitUnpopulated and useProtoNames for that rule only', async () => {
    const res = await request(`${perRule.url}/v1/things/t1`);
    expect(res.status, res.body).toBe(200);
    const json = res.json as { received: Record<string, unknown> } & Record<string, unknown>;
    expect(json['method']).toBe('GetThing');
    expect(json['waited_ms']).toBe(0);
    expect(json['tags']).toEqual([]);
    expect(json.received['display_name']).toBe('');
    expect(json.received['id']).toBe('t1');
    expect(json.received['choice_text']).toBeUndefined();
  });

  it('other rules keep the global defaults', async () => {
    const res = await request(`${perRule.url}/v1/echo/t1?kind=1`);
    expect(res.status, res.body).toBe(200);
    expect(res.json).toEqual({ received: { id: 't1', kind: 'KIND_BOOK' }, method: 'GetEcho' });
  });

  it('Echo: ignoreUnknownFields and enumsAsNumbers for that rule; MultiBinding stays strict', async () => {
    const lenient = await post(perRule, '/v1/echo', '{"nope":1,"kind":"KIND_MAGAZINE"}');
    expect(lenient.status, lenient.body).toBe(200);
    expect(lenient.json).toEqual({ received: { kind: 2 }, method: 'Echo' });
    expectFieldViolation(await post(perRule, '/v1/multi', '{"nope":1}'), 'nope');
  });
});
