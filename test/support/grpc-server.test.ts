import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { decodeStatusDetails, STATUS_DETAILS_TRAILER } from '../../src/demo/status-details.js';
import { loadRegistry } from '../../src/registry/load.js';
import { FAIL_DETAIL_KINDS, FAIL_DETAILS, UNKNOWN_DETAIL_BASE64, UNKNOWN_DETAIL_TYPE_URL } from './fail-details.js';
import {
  E2E_MAPPINGS_DIR,
  E2E_PROTO,
  E2E_STREAMING_MAPPINGS_DIR,
  E2E_PROTOS_DIR,
  E2E_SERVICE,
  ECHO_BIN_VALUE,
  startTestServer,
  type TestServer,
} from './grpc-server.js';

const GOOGLEAPIS = fileURLToPath(new URL('../../third_party/googleapis', import.meta.url));
const { root } = loadRegistry([E2E_PROTOS_DIR]);

let server: TestServer;
let client: grpc.Client;

interface Outcome {
  readonly error: grpc.ServiceError | null;
  readonly value: Record<string, unknown> | undefined;
  readonly headers: grpc.Metadata | undefined;
  readonly trailers: grpc.Metadata | undefined;
}

type UnaryMethod = (
  req: object,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, value?: Record<string, unknown>) => void,
) => grpc.ClientUnaryCall;

function unary(method: string, req: object, md = new grpc.Metadata(), opts: grpc.CallOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let result: Pick<Outcome, 'error' | 'value'> = { error: null, value: undefined };
    const fn = (client as unknown as Record<string, UnaryMethod>)[method]!.bind(client);
    const c = fn(req, md, opts, (error, value) => (result = { error, value }));
    c.on('metadata', (m: grpc.Metadata) => (headers = m));
    c.on('status', (s: grpc.StatusObject) => setImmediate(() => resolve({ ...result, headers, trailers: s.metadata })));
  });
}

function snakeToCamel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeToCamel);
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), snakeToCamel(v)]),
  );
}

beforeAll(async () => {
  server = await startTestServer();
  const def = protoLoader.loadSync(E2E_PROTO, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    includeDirs: [E2E_PROTOS_DIR, GOOGLEAPIS],
  });
  const Ctor = grpc.makeGenericClientConstructor(def[E2E_SERVICE] as grpc.ServiceDefinition, 'EchoService');
  client = new Ctor(server.target, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

beforeEach(() => server.reset());

describe('fixture server: echo and recording', () => {
  const request = {
    id: 'e1',
    book: { name: 'shelves/1/books/2', pages: '9007199254740993', tags: ['a', 'b'], published_at: { seconds: '1700000000', nanos: 5 } },
    nums: [1, -2],
    kind: 'KIND_BOOK',
    labels: { env: 'test' },
    flag: true,
    blob: Buffer.from([0, 1, 255]),
    ratio: 0.25,
    choice_number: 7,
    big: '18446744073709551615',
    display_name: 'A title',
  };

  it('echoes the request and records it, with metadata and deadline', async () => {
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer t');
    md.add('x-multi', 'one');
    md.add('x-multi', 'two');
    md.set('x-raw-bin', Buffer.from([1, 2]));
    const wait = server.waitForCall('GetEcho');
    const r = await unary('GetEcho', request, md, { deadline: Date.now() + 5000 });
    expect(r.error).toBeNull();
    expect(r.value).toEqual({ received: request, method: 'GetEcho', book: request.book, tags: ['a', 'b'] });
    const rec = await wait;
    expect(rec).toMatchObject({ method: 'GetEcho', path: `/${E2E_SERVICE}/GetEcho`, request, cancelled: false });
    // grpc-js clients send repeated text values as one header field.
    expect(rec.metadata).toMatchObject({ authorization: 'Bearer t', 'x-multi': 'one, two', 'x-raw-bin': Buffer.from([1, 2]) });
    expect(rec.metadata).not.toHaveProperty('grpc-timeout');
    expect(rec.deadline).toBeInstanceOf(Date);
    expect(server.calls).toEqual([rec]);
  });

  it('hands finished calls to waitForCall whether asked before or after, oldest first', async () => {
    await unary('Echo', { id: 'first' });
    await unary('Echo', { id: 'second' });
    expect((await server.waitForCall('Echo')).request).toEqual({ id: 'first' });
    expect((await server.waitForCall(`/${E2E_SERVICE}/Echo`)).request).toEqual({ id: 'second' });
    await expect(server.waitForCall('Echo', 50)).rejects.toThrow(/no call finished within 50 ms/);
  });

  it.each(['GetBook', 'PrecWild', 'Purge', 'Overridden', 'Unmapped'])('names the method that answered: %s', async (method) => {
    const r = await unary(method, { id: 'x' });
    expect(r.value).toMatchObject({ method, received: { id: 'x' } });
  });
});

describe('fixture server: Fail', () => {
  it.each(FAIL_DETAIL_KINDS.map((k) => [k]))('attaches the fixed %s detail', async (kind) => {
    const r = await unary('Fail', { code: 9, details: [kind] });
    expect(r.error?.code).toBe(9);
    expect(r.error?.details).toBe('e2e failure: FAILED_PRECONDITION');
    const st = decodeStatusDetails(root, r.error!.metadata.get(STATUS_DETAILS_TRAILER)[0] as Buffer);
    expect(st).toMatchObject({ code: 9, message: 'e2e failure: FAILED_PRECONDITION' });
    expect(st.details).toHaveLength(1);
    const fixed = FAIL_DETAILS[kind];
    if ('typeUrl' in fixed.detail) {
      expect(st.details[0]!.typeUrl).toBe(UNKNOWN_DETAIL_TYPE_URL);
      expect(Buffer.from(st.details[0]!.raw).toString('base64')).toBe(UNKNOWN_DETAIL_BASE64);
    } else {
      expect(st.details[0]!.typeUrl).toBe(`type.googleapis.com/${fixed.detail.type}`);
      // Normalised the way decodeStatusDetails renders (int64 as strings).
      const type = root.lookupType(fixed.detail.type);
      expect(st.details[0]!.value).toEqual(type.toObject(type.fromObject(fixed.detail.value), { longs: String, enums: String }));
    }
  });

  it.each(FAIL_DETAIL_KINDS.filter((k) => k !== 'unknown' && k !== 'RetryInfo').map((k) => [k]))(
    'documents the JSON of %s consistently with its value',
    (kind) => {
      const fixed = FAIL_DETAILS[kind];
      const { '@type': type, ...fields } = fixed.json!;
      expect(type).toBe(`type.googleapis.com/${'type' in fixed.detail ? fixed.detail.type : ''}`);
      expect(fields).toEqual(snakeToCamel('value' in fixed.detail ? fixed.detail.value : {}));
    },
  );

  it('sends every kind at once, in order, with a custom message and trailers', async () => {
    const r = await unary('Fail', { code: 14, message: 'down', details: [...FAIL_DETAIL_KINDS], trailers: { 'x-why': 'test' } });
    expect(r.error).toMatchObject({ code: 14, details: 'down' });
    expect(r.trailers?.get('x-why')).toEqual(['test']);
    const st = decodeStatusDetails(root, r.error!.metadata.get(STATUS_DETAILS_TRAILER)[0] as Buffer);
    expect(st.details.map((d) => d.typeUrl.split('/')[1])).toEqual([
      'google.rpc.BadRequest',
      'google.rpc.RetryInfo',
      'google.rpc.ErrorInfo',
      'google.rpc.QuotaFailure',
      'google.rpc.PreconditionFailure',
      'google.rpc.ResourceInfo',
      'google.rpc.Help',
      'google.rpc.LocalizedMessage',
      'google.rpc.DebugInfo',
      'google.rpc.RequestInfo',
      'e2e.v1.CustomDetail',
      'not.a.Known',
    ]);
  });

  it.each([
    [{ code: 5 }, 5, false],
    [{ code: 0 }, 0, false],
    [{ code: 17 }, grpc.status.INVALID_ARGUMENT, false],
    [{ code: 3, details: ['Nope'] }, grpc.status.INVALID_ARGUMENT, false],
  ])('answers %j with code %i', async (req, code, hasDetails) => {
    const r = await unary('Fail', req);
    expect(r.error?.code ?? 0).toBe(code);
    expect(r.error?.metadata.get(STATUS_DETAILS_TRAILER).length ?? 0).toBe(hasDetails ? 1 : 0);
  });
});

describe('fixture server: Slow, Meta, streams', () => {
  it('answers Slow after the delay', async () => {
    const r = await unary('Slow', { ms: 20, id: 's1' });
    expect(r.value).toEqual({ method: 'Slow', waited_ms: 20, received: { id: 's1' } });
    expect((await server.waitForCall('Slow')).cancelled).toBe(false);
  });

  it('records a Slow call cut short by its deadline as cancelled', async () => {
    const r = await unary('Slow', { ms: 5000 }, new grpc.Metadata(), { deadline: Date.now() + 100 });
    expect(r.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const rec = await server.waitForCall('Slow');
    expect(rec.cancelled).toBe(true);
  });

  it('echoes metadata in Meta and sends headers and trailers back', async () => {
    const md = new grpc.Metadata();
    md.set('x-in', 'v');
    md.set('x-in-bin', Buffer.from([0xca, 0xfe]));
    const r = await unary('Meta', {}, md);
    expect(r.value?.['metadata']).toMatchObject({ 'x-in': 'v', 'x-in-bin': Buffer.from([0xca, 0xfe]).toString('base64') });
    expect(r.headers?.get('x-echo-header')).toEqual(['h']);
    expect(r.headers?.get('x-echo-header-bin')).toEqual([ECHO_BIN_VALUE]);
    expect(r.trailers?.get('x-echo-trailer')).toEqual(['t']);
    expect(r.trailers?.get('x-echo-bin')).toEqual([ECHO_BIN_VALUE]);
  });

  it('streams count items, then fails as asked', async () => {
    const items: unknown[] = [];
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = (client as unknown as Record<string, (req: object) => grpc.ClientReadableStream<unknown>>)['Stream']!.call(client, {
        count: 3,
        fail: { code: 8, details: ['QuotaFailure'] },
      });
      call.on('data', (d) => items.push(d));
      call.on('error', () => undefined);
      call.on('status', resolve);
    });
    expect(items).toEqual([
      { index: 0, big: '0', note: 'item 0' },
      { index: 1, big: '1000000000000', note: 'item 1' },
      { index: 2, big: '2000000000000', note: 'item 2' },
    ]);
    expect(status.code).toBe(8);
    expect(status.metadata.get(STATUS_DETAILS_TRAILER)).toHaveLength(1);
  });

  it('collects a client stream', async () => {
    const value = await new Promise<unknown>((resolve, reject) => {
      const call = (client as unknown as Record<string, (cb: (e: unknown, v: unknown) => void) => grpc.ClientWritableStream<object>>)[
        'Collect'
      ]!.call(client, (e, v) => (e ? reject(e) : resolve(v)));
      call.write({ id: 'a' });
      call.write({ id: 'b', nums: [1] });
      call.end();
    });
    expect(value).toEqual({ received: [{ id: 'a' }, { id: 'b', nums: [1] }], count: 2 });
    expect((await server.waitForCall('Collect')).request).toEqual([{ id: 'a' }, { id: 'b', nums: [1] }]);
  });
});

describe('fixture files', () => {
  const service = root.lookupService(E2E_SERVICE);
  const mapped = new Map<string, Record<string, unknown>>();
  const files = [E2E_MAPPINGS_DIR, E2E_STREAMING_MAPPINGS_DIR].flatMap((dir) =>
    fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, f)),
  );
  for (const file of files) {
    const doc = parseYaml(fs.readFileSync(file, 'utf8')) as {
      http?: { rules?: Record<string, unknown>[] };
      backend?: { rules?: Record<string, unknown>[] };
    };
    for (const rule of [...(doc.http?.rules ?? []), ...(doc.backend?.rules ?? [])]) {
      mapped.set(String(rule['selector']), rule);
    }
  }

  it.each([...mapped.keys()])('mapping selector %s names a method of e2e.proto', (selector) => {
    expect(selector.startsWith(`${E2E_SERVICE}.`)).toBe(true);
    expect(service.methods[selector.slice(E2E_SERVICE.length + 1)]).toBeInstanceOf(protobuf.Method);
  });

  it('routes every method but Unmapped, through an annotation or a mapping rule', () => {
    const unrouted = Object.values(service.methods)
      .filter((m) => !mapped.has(`${E2E_SERVICE}.${m.name}`) && !m.options?.['(google.api.http)'] && !m.parsedOptions?.length)
      .map((m) => m.name);
    expect(unrouted).toEqual(['Unmapped']);
  });
});
