/**
 * --auto-mapping (Envoy's auto_mapping convention): every method without an HTTP rule is served as
 * POST /{package.Service}/{Method} with the request message as the body; annotated and mapped methods keep
 * their own rules; the routes are marked in --check and in the OpenAPI document.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { request } from '../support/http.js';
import { openApiProblems } from '../support/openapi.js';

const noMappings = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-auto-'));
let auto: TestAttache;

beforeAll(async () => {
  // The demo backend with no mapping file: only UpdatePayment has an annotation.
  auto = await startAttache(['--demo', '--protos', 'protos', '--mappings', noMappings, '--auto-mapping']);
});

afterAll(async () => {
  await auto?.stop();
  fs.rmSync(noMappings, { recursive: true, force: true });
});

describe('--auto-mapping', () => {
  it('serves an unmapped method at POST /{package.Service}/{Method}, the body being the request message', async () => {
    const r = await request(`${auto.url}/payments.v1.PaymentService/GetPayment`, { method: 'POST', body: { paymentId: 'pay_001' } });
    expect(r.status, r.body).toBe(200);
    expect(r.json).toMatchObject({ id: 'pay_001', amountMinor: '2500' });
    const list = await request(`${auto.url}/payments.v1.PaymentService/ListPayments`, { method: 'POST', body: {} });
    expect(list.status).toBe(200);
    expect((list.json as { payments: unknown[] }).payments.length).toBeGreaterThan(0);
  });

  it('other methods on that path answer 405; errors keep the contract shape', async () => {
    const r = await request(`${auto.url}/payments.v1.PaymentService/GetPayment`);
    expect(r.status).toBe(405);
    expect(r.headers['allow']).toBe('POST');
    const missing = await request(`${auto.url}/payments.v1.PaymentService/GetPayment`, { method: 'POST', body: { paymentId: 'missing_1' } });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: 5 });
  });

  it('a method with an annotation keeps it and gets no auto route', async () => {
    const r = await request(`${auto.url}/payments.v1.PaymentService/UpdatePayment`, { method: 'POST', body: {} });
    expect(r.status).toBe(404);
    const patched = await request(`${auto.url}/api/payments/pay_001`, { method: 'PATCH', body: { description: 'auto' } });
    expect(patched.status, patched.body).toBe(200);
  });

  it('marks the routes in the OpenAPI document, which validates', async () => {
    const doc = (await request(`${auto.adminUrl}/openapi.json`)).json as any;
    expect(await openApiProblems(doc)).toEqual([]);
    const op = doc.paths['/payments.v1.PaymentService/GetPayment'].post;
    expect(op['x-attache-auto-mapped']).toBe(true);
    expect(op.description).toMatch(/Auto-mapped/);
    expect(op.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/payments.v1.GetPaymentRequest' });
    expect(doc.paths['/api/payments/{payment.id}'].patch['x-attache-auto-mapped']).toBeUndefined();
  });

  it('without the flag, unmapped methods have no route', async () => {
    const plain = await startAttache(['--demo', '--protos', 'protos', '--mappings', noMappings]);
    try {
      expect(plain.running.snapshot.table.routes.map((r) => r.selector)).toEqual(['payments.v1.PaymentService.UpdatePayment']);
    } finally {
      await plain.stop();
    }
  });

  it('--check lists the auto-mapped routes with source auto-mapping', async () => {
    const cli = path.resolve('dist/cli.js');
    const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [cli, '--check', '--protos', 'protos', '--mappings', noMappings, '--auto-mapping', '--upstream', '127.0.0.1:50051'], { timeout: 15_000 }, (err, stdout) =>
        resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout }),
      );
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^POST +\/payments\.v1\.PaymentService\/ChargePayment +payments\.v1\.PaymentService\.ChargePayment +unary +127\.0\.0\.1:50051 +15s \(default\) +auto-mapping$/m);
    // Streaming methods are auto-mapped too, each called as its kind says (docs/streaming.md).
    expect(out.stdout).toMatch(/^POST +\/payments\.v1\.PaymentService\/WatchPayments +payments\.v1\.PaymentService\.WatchPayments +server-stream .*auto-mapping$/m);
    expect(out.stdout).toMatch(/^POST +\/payments\.v1\.PaymentService\/ChargeBatch +payments\.v1\.PaymentService\.ChargeBatch +client-stream .*auto-mapping$/m);
    expect(out.stdout).toMatch(/^PATCH +\/api\/payments\/\{payment\.id\} .*payments\/v1\/payments\.proto:\d+/m);
    expect(out.stdout).toContain('7 route(s) OK');
  });
});
