/**
 * The README's demo walk-through, request by request, against the embedded demo backend (`--demo`). In
 * process, so the repo's protos/ and mappings/ are passed explicitly (cli.ts rewrites the default paths to
 * the package folder; the test's working directory is the repo root).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { ndjson, request } from '../support/http.js';

let demo: TestAttache;

beforeAll(async () => {
  demo = await startAttache(['--demo', '--protos', 'protos', '--mappings', 'mappings']);
});

afterAll(async () => {
  await demo?.stop();
});

const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';

describe('the README demo', () => {
  it('runs its own backend', () => {
    expect(demo.running.demoTarget).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('GET /api/payments/pay_001 → 200, proto3 JSON, Grpc-Metadata-* and Grpc-Trailer-* headers, an X-Request-Id', async () => {
    const r = await request(`${demo.url}/api/payments/pay_001`);
    expect(r.status).toBe(200);
    expect(r.headers['grpc-metadata-x-demo-backend']).toBe('payments-v1');
    expect(r.headers['grpc-trailer-x-demo-latency-us']).toMatch(/^\d+$/);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-request-id']).toBeTruthy();
    expect(r.json).toMatchObject({
      id: 'pay_001',
      customerId: 'cus_alice',
      amountMinor: expect.stringMatching(/^\d+$/), // int64 as a string
      currency: 'EUR',
      status: 'PAYMENT_STATUS_CAPTURED', // enum by name
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/), // RFC 3339
    });
  });

  it('POST /api/payments/charge (body "*", both name styles) → 200 with the new payment', async () => {
    const r = await request(`${demo.url}/api/payments/charge`, {
      method: 'POST',
      body: { customerId: 'cus_alice', amount_minor: '1999', currency: 'EUR', items: [{ sku: 'tea', quantity: 2 }] },
    });
    expect(r.status, r.body).toBe(200);
    expect(r.json).toMatchObject({
      id: expect.any(String),
      customerId: 'cus_alice',
      amountMinor: '1999',
      currency: 'EUR',
      items: [{ sku: 'tea', quantity: 2 }],
    });
  });

  it('the same charge through the additional binding /api/v2/charges', async () => {
    const r = await request(`${demo.url}/api/v2/charges`, { method: 'POST', body: { customerId: 'cus_bob', amountMinor: 100, currency: 'USD' } });
    expect(r.status, r.body).toBe(200);
    expect(r.json).toMatchObject({ customerId: 'cus_bob', amountMinor: '100' });
  });

  it('GET /api/payments with query parameters → a filtered page', async () => {
    const r = await request(`${demo.url}/api/payments?customerId=cus_alice&status=PAYMENT_STATUS_CAPTURED&pageSize=2`);
    expect(r.status, r.body).toBe(200);
    const { payments } = r.json as { payments: { customerId: string; status: string }[] };
    expect(payments.length).toBeGreaterThan(0);
    expect(payments.length).toBeLessThanOrEqual(2);
    for (const p of payments) expect(p).toMatchObject({ customerId: 'cus_alice', status: 'PAYMENT_STATUS_CAPTURED' });
  });

  it('POST /api/payments/pay_001:refund (a custom verb) → 200', async () => {
    const r = await request(`${demo.url}/api/payments/pay_001:refund`, { method: 'POST', body: { amountMinor: '500', reason: 'damaged' } });
    expect(r.status, r.body).toBe(200);
    expect(r.json).toMatchObject({ id: 'pay_001', refundedMinor: '500' });
  });

  it('a charge with a bad amount and currency → 400 with the backend\'s BadRequest details', async () => {
    const r = await request(`${demo.url}/api/payments/charge`, { method: 'POST', body: { customerId: 'cus_alice', amountMinor: '-5', currency: 'eur' } });
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe('application/json');
    const body = r.json as { code: number; message: string; details: { '@type': string; fieldViolations: { field: string; description: string }[] }[] };
    expect(body.code).toBe(3);
    expect(body.message).toBe('invalid charge request');
    expect(body.details).toHaveLength(1);
    expect(body.details[0]!['@type']).toBe(BAD_REQUEST);
    expect(body.details[0]!.fieldViolations).toEqual([
      { field: 'amount_minor', description: 'must be a positive amount in minor units, got -5' },
      { field: 'currency', description: expect.stringContaining('got "eur"') },
    ]);
  });

  it('a charge whose amount is not a number → 400 from attache naming the field and the value', async () => {
    const r = await request(`${demo.url}/api/payments/charge`, { method: 'POST', body: { amountMinor: '12x' } });
    expect(r.status).toBe(400);
    const body = r.json as { code: number; message: string; details: { '@type': string }[] };
    expect(body.code).toBe(3);
    expect(body.message).toContain('amountMinor');
    expect(body.message).toContain('12x');
    expect(r.headers['grpc-metadata-x-demo-backend']).toBeUndefined(); // never reached the backend
  });

  it('GET /api/payments/missing_1 → 404, code 5, a ResourceInfo detail', async () => {
    const r = await request(`${demo.url}/api/payments/missing_1`);
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({
      code: 5,
      details: [{ '@type': 'type.googleapis.com/google.rpc.ResourceInfo', resourceName: 'payments/missing_1' }],
    });
  });

  it('GET /api/payments/slow_1 with Grpc-Timeout: 100m → 504 (code 4) after ~100 ms', async () => {
    const started = Date.now();
    const r = await request(`${demo.url}/api/payments/slow_1`, { headers: { 'grpc-timeout': '100m' } });
    expect(r.status).toBe(504);
    expect(r.json).toMatchObject({ code: 4, details: [] });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('GET /api/payments/flaky_1 → 503 with Retry-After from the RetryInfo detail', async () => {
    const r = await request(`${demo.url}/api/payments/flaky_1`);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('2');
    expect(r.json).toMatchObject({ code: 14, details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }] });
  });

  it('DELETE /api/payments/pay_001 → 405 with an Allow header, code 12', async () => {
    const r = await request(`${demo.url}/api/payments/pay_001`, { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect(r.headers['allow']).toBe('GET, PATCH');
    expect(r.json).toMatchObject({ code: 12, details: [] });
  });

  it('GET /api/payments:watch → a server stream, one NDJSON line per payment (docs/streaming.md)', async () => {
    const r = await request(`${demo.url}/api/payments:watch?customerId=cus_bob&intervalMs=10`);
    expect(r.status, r.body).toBe(200);
    expect(r.headers['content-type']).toBe('application/x-ndjson');
    expect(r.headers['grpc-metadata-x-demo-backend']).toBe('payments-v1');
    const lines = ndjson(r.body) as Array<{ result: { customerId: string } }>;
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.result.customerId).toBe('cus_bob');
  });

  it('GET /api/payments:watch with Accept: text/event-stream → Server-Sent Events', async () => {
    const r = await request(`${demo.url}/api/payments:watch?customerId=cus_bob&intervalMs=10`, { headers: { accept: 'text/event-stream' } });
    expect(r.headers['content-type']).toBe('text/event-stream');
    expect(r.body).toMatch(/^id: 0\ndata: \{"id":"pay_/);
  });

  it('POST /api/payments:batch with an NDJSON body → one summary of the client stream', async () => {
    const body = '{"customerId":"cus_alice","amountMinor":"500","currency":"EUR"}\n{"customerId":"cus_bob","amountMinor":"-1","currency":"EUR"}\n{"customerId":"cus_bob","amountMinor":"700","currency":"USD"}\n';
    const r = await request(`${demo.url}/api/payments:batch`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status, r.body).toBe(200);
    expect(r.json).toMatchObject({ refused: 1, totalMinor: '1200', payments: [{ amountMinor: '500' }, { amountMinor: '700' }] });
  });

  it('GET /readyz on the admin listener → {"status":"ready"}', async () => {
    const r = await request(`${demo.adminUrl}/readyz`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'ready' });
  });
});
