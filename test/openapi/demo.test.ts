/**
 * /openapi.json and /openapi.yaml on the admin listener of a real attache serving the demo API: the
 * document validates, and its operations say what the demo's routes do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startAttache, type TestAttache } from '../support/attache.js';
import { request } from '../support/http.js';
import { openApiProblems } from '../support/openapi.js';

let demo: TestAttache;
let doc: any;

beforeAll(async () => {
  demo = await startAttache(['--demo', '--protos', 'protos', '--mappings', 'mappings']);
  const r = await request(`${demo.adminUrl}/openapi.json`);
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  doc = r.json;
});

afterAll(async () => {
  await demo?.stop();
});

describe('the demo API as OpenAPI 3.1', () => {
  it('validates with both validators', async () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(await openApiProblems(doc)).toEqual([]);
  });

  it('points servers at the data listener, by the host name the client used', async () => {
    expect(doc.servers).toEqual([{ url: demo.url, description: 'attache data listener' }]);
    const r = await request(`${demo.adminUrl}/openapi.json`, { headers: { host: `localhost:${demo.running.adminPort}` } });
    expect((r.json as any).servers[0].url).toBe(`http://localhost:${demo.running.port}`);
  });

  it('/openapi.yaml is the same document', async () => {
    const r = await request(`${demo.adminUrl}/openapi.yaml`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/yaml/);
    expect(parse(r.body)).toEqual(doc);
  });

  it('has one operation per route, with the proto comments as summary and description', () => {
    const ops = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    expect(ops.sort()).toEqual([
      'GET /api/payments',
      'GET /api/payments/{payment_id}',
      'GET /api/payments:watch',
      'PATCH /api/payments/{payment.id}',
      'POST /api/payments/charge',
      'POST /api/payments/{payment_id}:refund',
      'POST /api/payments:batch',
      'POST /api/v2/charges',
    ]);
    const get = doc.paths['/api/payments/{payment_id}'].get;
    expect(get.operationId).toBe('payments.v1.PaymentService.GetPayment');
    expect(get.summary).toBe('Reads one payment by id.');
    expect(get.description).toContain('ids starting with "slow" answer after 3 s');
    expect(get.tags).toEqual(['payments.v1.PaymentService']);
    expect(get['x-grpc-method']).toBe('/payments.v1.PaymentService/GetPayment');
    expect(get.parameters).toEqual([{ name: 'payment_id', in: 'path', required: true, schema: { type: 'string' } }]);
    expect(doc.paths['/api/v2/charges'].post.operationId).toBe('payments.v1.PaymentService.ChargePayment_2');
  });

  it('lists every query-addressable field of a GET, enums with their values', () => {
    const list = doc.paths['/api/payments'].get;
    expect(list.parameters.map((p: any) => `${p.in}:${p.name}`)).toEqual(['query:customerId', 'query:status', 'query:pageSize', 'query:pageToken']);
    const status = list.parameters[1].schema.$ref.split('/').pop();
    expect(doc.components.schemas[status]).toMatchObject({ type: 'string', enum: ['PAYMENT_STATUS_UNSPECIFIED', 'PAYMENT_STATUS_PENDING', 'PAYMENT_STATUS_CAPTURED', 'PAYMENT_STATUS_REFUNDED', 'PAYMENT_STATUS_FAILED'] });
  });

  it('describes bodies and responses in the proto3 JSON mapping', () => {
    const charge = doc.paths['/api/payments/charge'].post;
    expect(charge.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/payments.v1.ChargePaymentRequest' });
    const req = doc.components.schemas['payments.v1.ChargePaymentRequest'];
    expect(req.properties.amountMinor).toEqual({ type: 'string', format: 'int64', pattern: '^-?[0-9]+$' });
    expect(req.properties.metadata).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
    expect(req.properties.items).toEqual({ type: 'array', items: { $ref: '#/components/schemas/payments.v1.LineItem' } });
    expect(req.properties.idempotencyKey.description).toBe('Makes a retried charge safe: the same key returns the first charge.');
    const payment = doc.components.schemas['payments.v1.Payment'];
    expect(payment.properties.createdAt).toMatchObject({ type: 'string', format: 'date-time' });
    expect(charge.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/payments.v1.Payment' });
  });

  it('a body field route: the body is that field, the rest from the path and the query', () => {
    const patch = doc.paths['/api/payments/{payment.id}'].patch;
    expect(patch.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/payments.v1.Payment' });
    expect(patch.parameters.map((p: any) => `${p.in}:${p.name}`)).toEqual(['path:payment.id', 'query:updateMask']);
    expect(patch.parameters[1].schema).toMatchObject({ type: 'string' });
  });

  it('answers errors as google.rpc.Status, with the statuses a route can answer', () => {
    const get = doc.paths['/api/payments/{payment_id}'].get;
    expect(Object.keys(get.responses)).toEqual(['200', '400', '401', '403', '404', '409', '429', '499', '500', '501', '503', '504']);
    expect(Object.keys(doc.paths['/api/payments/charge'].post.responses)).toContain('413');
    expect(get.responses['404']).toEqual({ $ref: '#/components/responses/Status404' });
    expect(doc.components.responses.Status404.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/google.rpc.Status' });
    expect(doc.components.schemas['google.rpc.Status'].required).toEqual(['code', 'message', 'details']);
  });

  it('the data listener answers what the document promises', async () => {
    const r = await request(`${doc.servers[0].url}/api/payments?customerId=cus_alice&status=PAYMENT_STATUS_CAPTURED&pageSize=2`);
    expect(r.status).toBe(200);
    expect((r.json as any).payments.length).toBeGreaterThan(0);
  });
});
