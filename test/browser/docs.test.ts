/**
 * A real browser (Debian's Chromium, headless) against a real attache serving the demo:
 * - the /docs page on the admin listener loads with no network beyond loopback, lists every demo route,
 *   and its "try it" sends a request to the data listener through attache and shows the answer;
 * - a page served from another origin calls the data listener with fetch(): allowed by --cors-origin
 *   (simple and preflighted requests, exposed headers readable), refused for an origin not listed.
 * Screenshots go to test-output/browser/.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, outputDir, type Browser } from '../support/chromium.js';
import { startAttache, type TestAttache } from '../support/attache.js';

/** A page server on loopback whose one page calls `window.run(url, init)` results back to the test. */
async function pageServer(): Promise<{ server: http.Server; origin: string }> {
  const html = `<!DOCTYPE html><html><body><h1>another origin</h1><script>
    window.call = async (url, init) => {
      try {
        const r = await fetch(url, init);
        return { status: r.status, body: await r.text(), requestId: r.headers.get('x-request-id'), backend: r.headers.get('grpc-metadata-x-demo-backend') };
      } catch (e) { return { error: String(e) }; }
    };
  </script></body></html>`;
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let attache: TestAttache;
let browser: Browser;
let allowedPage: { server: http.Server; origin: string };
let otherPage: { server: http.Server; origin: string };
const shots = outputDir('browser');

beforeAll(async () => {
  [allowedPage, otherPage] = await Promise.all([pageServer(), pageServer()]);
  attache = await startAttache(['--demo', '--protos', 'protos', '--mappings', 'mappings', '--cors-origin', allowedPage.origin]);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await attache?.stop();
  for (const p of [allowedPage, otherPage]) p?.server.close();
});

describe('the /docs API reference page', () => {
  it('lists every demo route and sends a request to the demo through attache, offline', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${attache.adminUrl}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    const ops = await page.locator('.opblock-summary').evaluateAll((els) =>
      els.map((el) => `${el.querySelector('.opblock-summary-method')?.textContent?.trim()} ${el.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`),
    );
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

    const op = page.locator('.opblock-get', { has: page.locator('[data-path="/api/payments/{payment_id}"]') });
    await op.locator('.opblock-summary').click();
    await op.locator('input[placeholder="payment_id"]').fill('pay_001');
    await op.locator('button.execute').click();
    const response = op.locator('.live-responses-table .response');
    await response.waitFor({ timeout: 30_000 });
    expect((await response.locator('.response-col_status').first().textContent())?.trim()).toBe('200');
    const body = await op.locator('.live-responses-table .response-col_description pre').first().textContent();
    expect(JSON.parse(body ?? '{}')).toMatchObject({ id: 'pay_001', customerId: 'cus_alice', currency: 'EUR' });
    expect(await op.locator('.request-url pre').textContent()).toBe(`${attache.url}/api/payments/pay_001`);
    await page.screenshot({ path: path.join(shots, 'docs.png'), fullPage: false });
    expect(browser.external).toEqual([]);
    await page.close();
  }, 90_000);
});

describe('fetch() from a page on another origin', () => {
  it('an allowed origin: a simple GET and a preflighted JSON POST succeed, exposed headers are readable', async () => {
    const page = await browser.context.newPage();
    await page.goto(allowedPage.origin);
    const get = await page.evaluate(async (u) => (globalThis as any).call(u), `${attache.url}/api/payments/pay_001`);
    expect(get).toMatchObject({ status: 200, backend: 'payments-v1' });
    expect(get.requestId).toBeTruthy();
    expect(JSON.parse(get.body)).toMatchObject({ id: 'pay_001' });
    const post = await page.evaluate(
      async ([u, b]) => (globalThis as any).call(u, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-timeout': '2s' }, body: b }),
      [`${attache.url}/api/payments/charge`, JSON.stringify({ customerId: 'cus_bob', amountMinor: '700', currency: 'EUR' })] as const,
    );
    expect(post.status, JSON.stringify(post)).toBe(200);
    expect(JSON.parse(post.body)).toMatchObject({ customerId: 'cus_bob', amountMinor: '700' });
    const error = await page.evaluate(async (u) => (globalThis as any).call(u), `${attache.url}/api/payments/missing_9`);
    expect(error.status).toBe(404);
    expect(JSON.parse(error.body)).toMatchObject({ code: 5, details: [{ '@type': 'type.googleapis.com/google.rpc.ResourceInfo' }] });
    await page.screenshot({ path: path.join(shots, 'cross-origin.png') });
    await page.close();
  }, 60_000);

  it('an origin not listed: the browser refuses the response', async () => {
    const page = await browser.context.newPage();
    await page.goto(otherPage.origin);
    const get = await page.evaluate(async (u) => (globalThis as any).call(u), `${attache.url}/api/payments/pay_001`);
    expect(get).toEqual({ error: expect.stringMatching(/Failed to fetch/) });
    await page.close();
  }, 60_000);
});
