/**
 * --reflection: descriptors from the upstream's gRPC server reflection instead of local protos, against
 * two real servers: grpc-js running @grpc/reflection (the demo backend; v1) and grpc-go 1.33 (v1alpha only,
 * so the fallback runs). Mapping files and --auto-mapping apply to reflected methods as to local ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReflectionService } from '@grpc/reflection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDemoBackend, type DemoBackend } from '../../src/demo/backend.js';
import { loadSnapshot } from '../../src/load-snapshot.js';
import { protoTextOf } from '../../src/registry/descriptor-text.js';
import { startAttache, type TestAttache } from '../support/attache.js';
import { request } from '../support/http.js';
import { goBinary } from '../support/interop.js';
import { openApiProblems } from '../support/openapi.js';

const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-reflection-test-'));
afterAll(() => fs.rmSync(empty, { recursive: true, force: true }));

describe('grpc-js with @grpc/reflection (the demo backend)', () => {
  let backend: DemoBackend;
  let attache: TestAttache;

  beforeAll(async () => {
    backend = await startDemoBackend({ protosDir: 'protos', configure: (server, definition) => new ReflectionService(definition).addToServer(server) });
    // No local protos: everything comes from the server; the demo's mapping file routes them.
    attache = await startAttache(['--reflection', '--upstream', backend.target, '--protos', empty, '--mappings', 'mappings']);
  });
  afterAll(async () => {
    await attache?.stop();
    await backend?.close();
  });

  // @grpc/reflection serves descriptors protobufjs rebuilds from proto-loader's definition, which drop
  // extension options: UpdatePayment's google.api.http annotation does not reach attache this way (the
  // grpc-go descriptors below are protoc's, options included).
  it('routes the mapping file onto the reflected methods and serves them', async () => {
    expect(attache.running.snapshot.table.routes.map((r) => `${r.httpMethod} ${r.template.toString()}`)).toEqual(
      expect.arrayContaining(['GET /api/payments/{payment_id}', 'POST /api/payments/charge', 'GET /api/payments']),
    );
    const r = await request(`${attache.url}/api/payments/pay_001`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: 'pay_001', amountMinor: '2500', status: 'PAYMENT_STATUS_CAPTURED', createdAt: expect.stringMatching(/Z$/) });
    const list = await request(`${attache.url}/api/payments?status=PAYMENT_STATUS_CAPTURED&pageSize=1`);
    expect(list.status).toBe(200);
  });

  it('the OpenAPI document of the reflected API validates', async () => {
    const doc = (await request(`${attache.adminUrl}/openapi.json`)).json as Record<string, unknown>;
    expect(await openApiProblems(doc)).toEqual([]);
  });

  it('an unreachable upstream fails start-up with ATTACHE_E_REFLECTION naming it', async () => {
    const loaded = loadConfig(['--reflection', '--upstream', '127.0.0.1:1', '--protos', empty, '--mappings', empty], {});
    if (!loaded.ok) throw new Error('config');
    const started = Date.now();
    const built = await loadSnapshot(loaded.config);
    expect(built.ok).toBe(false);
    if (!built.ok) {
      expect(built.problems[0]).toMatchObject({ code: 'ATTACHE_E_REFLECTION', source: '127.0.0.1:1' });
      expect(built.problems[0]!.message).toMatch(/gRPC server reflection from 127\.0\.0\.1:1 failed/);
    }
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 20_000);

  it('a server without reflection: ATTACHE_E_REFLECTION after trying v1 and v1alpha', async () => {
    const plain = await startDemoBackend({ protosDir: 'protos' });
    try {
      const loaded = loadConfig(['--reflection', '--upstream', plain.target, '--protos', empty, '--mappings', empty], {});
      if (!loaded.ok) throw new Error('config');
      const built = await loadSnapshot(loaded.config);
      expect(!built.ok && built.problems[0]!.message).toMatch(/grpc\.reflection\.v1: .*; grpc\.reflection\.v1alpha: /);
    } finally {
      await plain.close();
    }
  });
});

describe('grpc-go with reflection (v1alpha)', () => {
  let go: ChildProcess;
  let target: string;
  let attache: TestAttache;

  beforeAll(async () => {
    go = spawn(goBinary('reflection'), [], { stdio: ['ignore', 'pipe', 'pipe'] });
    target = await new Promise<string>((resolve, reject) => {
      let out = '';
      go.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /LISTENING (\d+)/.exec(out);
        if (m) resolve(`127.0.0.1:${m[1]}`);
      });
      go.once('exit', (code) => reject(new Error(`grpc-go server exited with ${code}`)));
    });
    attache = await startAttache(['--reflection', '--auto-mapping', '--upstream', target, '--protos', empty, '--mappings', empty]);
  }, 120_000);
  afterAll(async () => {
    await attache?.stop();
    go?.kill('SIGKILL');
  });

  it('auto-maps the reflected unary methods and calls them', async () => {
    const routes = attache.running.snapshot.table.routes.map((r) => `${r.httpMethod} ${r.template.toString()}`);
    expect(routes).toEqual(expect.arrayContaining(['POST /grpc.testing.SearchService/Search', 'POST /grpc.health.v1.Health/Check']));
    const r = await request(`${attache.url}/grpc.testing.SearchService/Search`, { method: 'POST', body: { query: 'attache' } });
    expect(r.status, r.body).toBe(200);
    expect(r.json).toEqual({ results: [{ url: 'https://example.test/attache', title: 'grpc-go result for attache', snippets: ['grpc-go', 'attache'] }] });
    const bad = await request(`${attache.url}/grpc.testing.SearchService/Search`, { method: 'POST', body: {} });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 3, message: 'query is empty' });
    const health = await request(`${attache.url}/grpc.health.v1.Health/Check`, { method: 'POST', body: {} });
    expect(health.json).toEqual({ status: 'SERVING' });
  });

  it('an unknown field is refused by the reflected schema (400 naming it)', async () => {
    const r = await request(`${attache.url}/grpc.testing.SearchService/Search`, { method: 'POST', body: { query: 'x', nope: 1 } });
    expect(r.status).toBe(400);
    expect(r.body).toContain('nope');
  });
});

describe('descriptor → proto text', () => {
  it('keeps proto2 labels, defaults, extension ranges, extensions, maps, oneofs, proto3 optional, options', async () => {
    const protobuf = (await import('protobufjs')).default;
    const file = {
      name: 't.proto', package: 't.v1', syntax: 'proto2', dependency: ['google/api/annotations.proto'],
      message_type: [
        { name: 'Base', field: [
          { name: 'name', number: 1, label: 'LABEL_OPTIONAL', type: 'TYPE_STRING', default_value: 'hello' },
          { name: 'n', number: 2, label: 'LABEL_REQUIRED', type: 'TYPE_INT32', default_value: '7' },
          { name: 'tags', number: 3, label: 'LABEL_REPEATED', type: 'TYPE_MESSAGE', type_name: '.t.v1.Base.TagsEntry' },
          { name: 'a', number: 4, label: 'LABEL_OPTIONAL', type: 'TYPE_STRING', oneof_index: 0 },
          { name: 'b', number: 5, label: 'LABEL_OPTIONAL', type: 'TYPE_ENUM', type_name: '.t.v1.E', oneof_index: 0, json_name: 'bee' },
        ], nested_type: [{ name: 'TagsEntry', options: { map_entry: true }, field: [
          { name: 'key', number: 1, label: 'LABEL_OPTIONAL', type: 'TYPE_STRING' },
          { name: 'value', number: 2, label: 'LABEL_OPTIONAL', type: 'TYPE_INT64' },
        ] }], oneof_decl: [{ name: 'pick' }], extension_range: [{ start: 100, end: 536870912 }] },
      ],
      enum_type: [{ name: 'E', value: [{ name: 'E_ZERO', number: 0 }, { name: 'E_ONE', number: 1 }, { name: 'E_UNO', number: 1, options: { deprecated: true } }] }],
      extension: [{ name: 'extra', number: 100, label: 'LABEL_OPTIONAL', type: 'TYPE_INT64', extendee: '.t.v1.Base' }],
      service: [{ name: 'S', method: [
        { name: 'Get', input_type: '.t.v1.Base', output_type: '.t.v1.Base', options: { idempotency_level: 'NO_SIDE_EFFECTS', '.google.api.http': { get: '/v1/{name=things/*}', additional_bindings: [{ post: '/v1/x', body: '*' }] } } },
        { name: 'Watch', input_type: '.t.v1.Base', output_type: '.t.v1.Base', server_streaming: true },
      ] }],
    };
    const text = protoTextOf(file);
    const again = new protobuf.Root();
    again.resolvePath = (_o: string, t: string) => path.join('third_party/googleapis', t);
    protobuf.parse(text, again, { keepCase: true });
    again.loadSync('google/api/annotations.proto', { keepCase: true });
    again.resolveAll();
    const base = again.lookupType('t.v1.Base');
    expect(base.fields['name']!.options).toMatchObject({ default: 'hello' });
    expect(base.fields['n']!.required).toBe(true);
    expect(base.fields['tags']!.map).toBe(true);
    expect(base.oneofs['pick']!.fieldsArray.map((f) => f.name)).toEqual(['a', 'b']);
    expect(base.fields['b']!.options).toMatchObject({ json_name: 'bee' });
    expect(base.extensions).toEqual([[100, 536870911]]);
    const svc = again.lookupService('t.v1.S');
    expect(svc.methods['Get']!.parsedOptions).toEqual(expect.arrayContaining([{ '(google.api.http)': { get: '/v1/{name=things/*}', additional_bindings: { post: '/v1/x', body: '*' } } }]));
    expect(svc.methods['Watch']!.responseStream).toBe(true);
    expect(again.lookupEnum('t.v1.E').values).toMatchObject({ E_ZERO: 0, E_ONE: 1, E_UNO: 1 });
  });
});
