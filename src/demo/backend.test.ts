import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../registry/load.js';
import { startDemoBackend, type DemoBackend } from './backend.js';
import { decodeStatusDetails, STATUS_DETAILS_TRAILER } from './status-details.js';

const PROTOS = fileURLToPath(new URL('../../protos', import.meta.url));
const GOOGLEAPIS = fileURLToPath(new URL('../../third_party/googleapis', import.meta.url));
const { root } = loadRegistry([PROTOS]);

interface Reply {
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

let backend: DemoBackend;
let client: grpc.Client;

/** Calls a unary method, collecting headers and trailers whatever the outcome. */
function call(method: string, request: object, options: grpc.CallOptions = {}): Promise<Reply> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let trailers: grpc.Metadata | undefined;
    let result: { error: grpc.ServiceError | null; value: Record<string, unknown> | undefined } | undefined;
    const fn = (client as unknown as Record<string, UnaryMethod>)[method]!.bind(client);
    const c = fn(request, new grpc.Metadata(), options, (error, value) => {
      result = { error, value };
    });
    c.on('metadata', (md: grpc.Metadata) => (headers = md));
    c.on('status', (s: grpc.StatusObject) => {
      trailers = s.metadata;
      // The callback runs before 'status'; both have fired by now.
      setImmediate(() => resolve({ ...(result ?? { error: null, value: undefined }), headers, trailers }));
    });
  });
}

/** The rich status in an error's trailers, decoded. */
function details(err: grpc.ServiceError | null) {
  const bin = err?.metadata.get(STATUS_DETAILS_TRAILER)[0];
  expect(bin).toBeInstanceOf(Buffer);
  return decodeStatusDetails(root, bin as Buffer);
}

beforeAll(async () => {
  backend = await startDemoBackend({ protosDir: PROTOS });
  const def = protoLoader.loadSync(path.join(PROTOS, 'payments/v1/payments.proto'), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: [PROTOS, GOOGLEAPIS],
  });
  const Ctor = grpc.makeGenericClientConstructor(def['payments.v1.PaymentService'] as grpc.ServiceDefinition, 'PaymentService');
  client = new Ctor(backend.target, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await backend?.close();
});

describe('demo backend', () => {
  it('listens on loopback with the port in the target', () => {
    expect(backend.port).toBeGreaterThan(0);
    expect(backend.target).toBe(`127.0.0.1:${backend.port}`);
  });

  it('charges, with the demo header and latency trailer', async () => {
    const r = await call('ChargePayment', {
      customer_id: 'cus_carol',
      amount_minor: '1250',
      currency: 'EUR',
      items: [{ sku: 'SKU-X', quantity: 2, unit_amount_minor: '625' }],
      metadata: { order_id: 'ord_9' },
    });
    expect(r.error).toBeNull();
    expect(r.value).toMatchObject({
      id: expect.stringMatching(/^pay_\d{6}$/),
      customer_id: 'cus_carol',
      amount_minor: '1250',
      currency: 'EUR',
      status: 'PAYMENT_STATUS_CAPTURED',
      items: [{ sku: 'SKU-X', quantity: 2, unit_amount_minor: '625' }],
      metadata: { order_id: 'ord_9' },
    });
    expect(r.headers?.get('x-demo-backend')).toEqual(['payments-v1']);
    expect(r.trailers?.get('x-demo-latency-us')[0]).toMatch(/^\d+$/);
  });

  it('returns the first charge for a repeated idempotency key', async () => {
    const req = { customer_id: 'cus_bob', amount_minor: '300', currency: 'USD', idempotency_key: 'idem-1' };
    const first = await call('ChargePayment', req);
    const second = await call('ChargePayment', { ...req, amount_minor: '999' });
    expect(second.value).toEqual(first.value);
  });

  it.each([
    [
      'both fields wrong',
      { amount_minor: '-500', currency: 'eur' },
      [
        { field: 'amount_minor', description: 'must be a positive amount in minor units, got -500' },
        { field: 'currency', description: 'must be a 3-letter ISO 4217 code in upper case, such as "EUR", got "eur"' },
      ],
    ],
    ['amount absent', { currency: 'EUR' }, [{ field: 'amount_minor', description: 'must be a positive amount in minor units, got 0' }]],
  ])('rejects a charge with %s: INVALID_ARGUMENT + BadRequest', async (_name, req, violations) => {
    const r = await call('ChargePayment', req);
    expect(r.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.error?.details).toBe('invalid charge request');
    const st = details(r.error);
    expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st.message).toBe('invalid charge request');
    expect(st.details).toHaveLength(1);
    expect(st.details[0]!.typeUrl).toBe('type.googleapis.com/google.rpc.BadRequest');
    expect(st.details[0]!.value).toEqual({ field_violations: violations });
    // Failures carry the demo metadata too.
    expect(r.trailers?.get('x-demo-latency-us')).toHaveLength(1);
  });

  it.each(['pay_nope', 'missing_42'])('answers NOT_FOUND with a ResourceInfo for %s', async (id) => {
    const r = await call('GetPayment', { payment_id: id });
    expect(r.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(details(r.error).details[0]).toMatchObject({
      typeUrl: 'type.googleapis.com/google.rpc.ResourceInfo',
      value: { resource_type: 'payments.v1.Payment', resource_name: `payments/${id}` },
    });
  });

  it('reads a seeded payment', async () => {
    const r = await call('GetPayment', { payment_id: 'pay_003' });
    expect(r.value).toMatchObject({
      id: 'pay_003',
      customer_id: 'cus_bob',
      amount_minor: '4200',
      refunded_minor: '1000',
      created_at: { seconds: String(Date.parse('2024-03-10T18:45:00Z') / 1000) },
    });
  });

  it.each([
    ['more than remains', { payment_id: 'pay_003', amount_minor: '5000' }, 'REFUND_AMOUNT', /exceeds the remaining 3200/],
    ['an already refunded payment', { payment_id: 'pay_002' }, 'PAYMENT_STATUS', /already fully refunded/],
    ['a pending payment', { payment_id: 'pay_004' }, 'PAYMENT_STATUS', /PAYMENT_STATUS_PENDING/],
  ])('refuses to refund %s: FAILED_PRECONDITION + PreconditionFailure', async (_name, req, type, description) => {
    const r = await call('RefundPayment', req);
    expect(r.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    const v = details(r.error).details[0]!;
    expect(v.typeUrl).toBe('type.googleapis.com/google.rpc.PreconditionFailure');
    expect(v.value).toMatchObject({ violations: [{ type, subject: `payments/${req.payment_id}`, description: expect.stringMatching(description) }] });
  });

  it('refunds in parts, then the rest with amount 0, ending REFUNDED', async () => {
    const part = await call('RefundPayment', { payment_id: 'pay_006', amount_minor: '2500' });
    expect(part.value).toMatchObject({ refunded_minor: '2500', status: 'PAYMENT_STATUS_CAPTURED' });
    const rest = await call('RefundPayment', { payment_id: 'pay_006', amount_minor: '0' });
    expect(rest.value).toMatchObject({ refunded_minor: '7500', status: 'PAYMENT_STATUS_REFUNDED' });
  });

  it('pages through a filtered list, newest first', async () => {
    const first = await call('ListPayments', { customer_id: 'cus_alice', page_size: 2 });
    const ids1 = (first.value?.payments as { id: string }[]).map((p) => p.id);
    expect(ids1).toEqual(['pay_005', 'pay_002']);
    const token = first.value?.next_page_token as string;
    expect(token).not.toBe('');
    const second = await call('ListPayments', { customer_id: 'cus_alice', page_size: 2, page_token: token });
    expect((second.value?.payments as { id: string }[]).map((p) => p.id)).toEqual(['pay_001']);
    expect(second.value?.next_page_token).toBeUndefined();
  });

  it.each([
    [{ status: 'PAYMENT_STATUS_PENDING' }, ['pay_004']],
    [{ customer_id: 'cus_nobody' }, []],
  ])('filters a list by %j', async (req, ids) => {
    const r = await call('ListPayments', req);
    expect(((r.value?.payments as { id: string }[] | undefined) ?? []).map((p) => p.id)).toEqual(ids);
  });

  it.each([
    [{ page_size: -1 }, 'page_size'],
    [{ page_token: 'garbage' }, 'page_token'],
  ])('rejects list paging %j', async (req, field) => {
    const r = await call('ListPayments', req);
    expect(r.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(details(r.error).details[0]!.value).toMatchObject({ field_violations: [{ field }] });
  });

  it('updates only the masked fields, and rejects other paths', async () => {
    const ok = await call('UpdatePayment', {
      payment: { id: 'pay_001', description: 'Decaf beans', metadata: { note: 'swapped' }, currency: 'XXX' },
      update_mask: { paths: ['description'] },
    });
    expect(ok.value).toMatchObject({ id: 'pay_001', description: 'Decaf beans', currency: 'EUR', metadata: { order_id: 'ord_1001' } });
    const bad = await call('UpdatePayment', { payment: { id: 'pay_001' }, update_mask: { paths: ['amount_minor'] } });
    expect(bad.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(details(bad.error).details[0]!.value).toMatchObject({ field_violations: [{ field: 'update_mask.paths' }] });
  });

  it('answers flaky ids UNAVAILABLE with a RetryInfo of 2 s', async () => {
    const r = await call('GetPayment', { payment_id: 'flaky_1' });
    expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(details(r.error).details[0]).toMatchObject({
      typeUrl: 'type.googleapis.com/google.rpc.RetryInfo',
      value: { retry_delay: { seconds: '2' } },
    });
  });

  it('lets a deadline cut a slow call short', async () => {
    const started = Date.now();
    const r = await call('GetPayment', { payment_id: 'slow_1' }, { deadline: Date.now() + 200 });
    expect(r.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
