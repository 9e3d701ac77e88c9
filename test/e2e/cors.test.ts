/**
 * CORS on the data listener (--cors-origin, --cors-credentials, --cors-max-age): preflights answered from
 * the route table, allowed and refused origins, exposed headers, the docs page's own origin. Real attache
 * instances in front of the demo backend; the browser side is in test/browser/docs.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { originAllowed } from '../../src/http/cors.js';
import { startAttache, type TestAttache } from '../support/attache.js';
import { request, type HttpResponse } from '../support/http.js';

const APP = 'https://app.example.com';
const corsHeaders = (r: HttpResponse): string[] => Object.keys(r.headers).filter((h) => h.startsWith('access-control-')).sort();

let plain: TestAttache;
let credentialed: TestAttache;
let star: TestAttache;

beforeAll(async () => {
  const demo = ['--demo', '--protos', 'protos', '--mappings', 'mappings'];
  [plain, credentialed, star] = await Promise.all([
    startAttache([...demo, '--cors-origin', APP, '--cors-origin', 'https://*.example.org', '--cors-origin', 'http://localhost:5173']),
    startAttache([...demo, '--cors-credentials', '--cors-max-age', '1h'], { ATTACHE_CORS_ORIGINS: `${APP}, http://localhost:5173` }),
    startAttache([...demo, '--cors-origin', '*']),
  ]);
});

afterAll(async () => {
  await Promise.all([plain?.stop(), credentialed?.stop(), star?.stop()]);
});

const preflight = (base: string, path: string, origin: string, method: string, headers = 'content-type, x-request-timeout'): Promise<HttpResponse> =>
  request(`${base}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });

describe('preflights', () => {
  it('an allowed origin: 204 with the methods the route table maps for the path, the asked headers, max age', async () => {
    const r = await preflight(plain.url, '/api/payments/pay_001', APP, 'PATCH');
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    expect(r.headers['access-control-allow-methods']).toBe('GET, PATCH');
    expect(r.headers['access-control-allow-headers']).toBe('content-type, x-request-timeout');
    expect(r.headers['access-control-max-age']).toBe('600');
    expect(r.headers['access-control-allow-credentials']).toBeUndefined();
    expect(r.headers['vary']).toMatch(/Origin/);
  });

  // /api/payments/charge and …:refund also match GET and PATCH /api/payments/{payment_id}: every method the
  // route table would answer for the path.
  it.each([
    ['/api/payments/charge', 'GET, PATCH, POST'],
    ['/api/payments', 'GET'],
    ['/api/payments/pay_001:refund', 'GET, PATCH, POST'],
    ['/api/v2/charges', 'POST'],
  ])('%s allows %s', async (path, methods) => {
    const r = await preflight(plain.url, path, APP, 'POST');
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-methods']).toBe(methods);
  });

  it('a disallowed origin gets no CORS headers; the OPTIONS request is answered like any other (405 with Allow)', async () => {
    const r = await preflight(plain.url, '/api/payments/pay_001', 'https://evil.example.net', 'GET');
    expect(corsHeaders(r)).toEqual([]);
    expect(r.status).toBe(405);
    expect(r.headers['allow']).toBe('GET, PATCH');
    expect(r.json).toMatchObject({ code: 12 });
  });

  it.each([
    ['https://a.example.org', true],
    ['https://deep.a.example.org', true],
    ['https://example.org', false],
    ['http://a.example.org', false],
    ['https://a.example.org:8443', false],
    ['https://evilexample.org', false],
    ['http://localhost:5173', true],
    ['http://localhost:5174', false],
  ])('origin %s allowed: %s', async (origin, allowed) => {
    const r = await preflight(plain.url, '/api/payments', origin, 'GET');
    expect(r.headers['access-control-allow-origin']).toBe(allowed ? origin : undefined);
    expect(r.status).toBe(allowed ? 204 : 405);
  });

  it('a path no route matches: no CORS answer, the 404 of the contract', async () => {
    const r = await preflight(plain.url, '/nope', APP, 'GET');
    expect(r.status).toBe(404);
    expect(corsHeaders(r)).toEqual([]);
  });

  it('an OPTIONS request that is not a preflight goes to the routes (405), with CORS headers for an allowed origin', async () => {
    const r = await request(`${plain.url}/api/payments`, { method: 'OPTIONS', headers: { origin: APP } });
    expect(r.status).toBe(405);
    expect(r.headers['access-control-allow-origin']).toBe(APP);
  });

  it('credentials and a configured max age', async () => {
    const r = await preflight(credentialed.url, '/api/payments', 'http://localhost:5173', 'GET');
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers['access-control-max-age']).toBe('3600');
  });

  it('origin * answers * to any origin', async () => {
    const r = await preflight(star.url, '/api/payments/charge', 'https://anything.test', 'POST');
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('actual requests', () => {
  it('an allowed origin may read every header (*) without credentials', async () => {
    const r = await request(`${plain.url}/api/payments/pay_001`, { headers: { origin: APP } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    expect(r.headers['access-control-expose-headers']).toBe('*');
  });

  it('with credentials, each response names the headers it carries (X-Request-Id, Retry-After, its Grpc-Metadata-* and Grpc-Trailer-*)', async () => {
    const r = await request(`${credentialed.url}/api/payments/pay_001`, { headers: { origin: APP } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    const exposed = String(r.headers['access-control-expose-headers']).split(', ');
    expect(exposed).toEqual(expect.arrayContaining(['x-request-id', 'retry-after', 'grpc-metadata-x-demo-backend', 'grpc-trailer-x-demo-latency-us']));
  });

  it('errors carry the CORS headers too', async () => {
    const r = await request(`${plain.url}/api/payments/missing_1`, { headers: { origin: APP } });
    expect(r.status).toBe(404);
    expect(r.headers['access-control-allow-origin']).toBe(APP);
  });

  it('no Origin, or a disallowed one: no CORS headers', async () => {
    for (const headers of [{}, { origin: 'https://evil.example.net' }] as Record<string, string>[]) {
      const r = await request(`${plain.url}/api/payments/pay_001`, { headers });
      expect(r.status).toBe(200);
      expect(corsHeaders(r)).toEqual([]);
    }
  });

  it('the API reference page on the admin listener (same host name) is allowed without configuration, without credentials', async () => {
    const docs = `http://127.0.0.1:${credentialed.running.adminPort}`;
    const r = await request(`${credentialed.url}/api/payments/pay_001`, { headers: { origin: docs } });
    expect(r.headers['access-control-allow-origin']).toBe(docs);
    expect(r.headers['access-control-allow-credentials']).toBeUndefined();
    const other = await request(`${credentialed.url}/api/payments/pay_001`, { headers: { origin: `http://127.0.0.1:${credentialed.running.adminPort + 1}` } });
    expect(corsHeaders(other)).toEqual([]);
  });
});

describe('configuration', () => {
  it.each([
    [['--cors-origin', '*', '--cors-credentials'], {}, /ATTACHE_E_CORS.*credentials cannot be allowed for every origin/],
    [['--cors-origin', 'app.example.com'], {}, /flag --cors-origin.*is not a CORS origin/],
    [['--cors-origin', 'https://app.example.com/path'], {}, /is not a CORS origin/],
    [['--cors-origin', 'null'], {}, /is not a CORS origin/],
    [[], { ATTACHE_CORS_ORIGINS: 'https://a.test,nope' }, /env ATTACHE_CORS_ORIGINS.*"nope" is not a CORS origin/],
  ])('%j %j is refused', (args, env, message) => {
    const r = loadConfig(args as string[], env);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => `${e.code} ${e.toString()}`).join('\n')).toMatch(message);
  });

  it('origins are normalised (scheme and host lower-cased) and deduplicated', () => {
    const r = loadConfig(['--cors-origin', 'HTTPS://App.Example.com', '--cors-origin', 'https://app.example.com', '--cors-origin', 'https://*.Example.org:8443'], {});
    expect(r.ok && r.config.cors.origins).toEqual(['https://app.example.com', 'https://*.example.org:8443']);
  });
});

describe('origin patterns', () => {
  const cors = (origins: string[]) => ({ origins, credentials: false, maxAgeMs: 0 });
  it.each([
    [['http://localhost:*'], 'http://localhost:3000', true],
    [['http://localhost:*'], 'http://localhost', false],
    [['http://localhost:*'], 'https://localhost:3000', false],
    [['http://localhost:*'], 'http://localhost.evil.test:3000', false],
    [['http://localhost:*'], 'http://localhost:3000/x', false],
    [['https://*.example.com'], 'https://a.b.example.com', true],
    [['https://*.example.com'], 'https://example.com', false],
    [['https://*.example.com'], 'https://a.example.com.evil.test', false],
    [['https://*.example.com:8443'], 'https://a.example.com:8443', true],
    [['https://*.example.com:8443'], 'https://a.example.com', false],
    [['https://app.example.com'], 'https://app.example.com', true],
    [['https://app.example.com'], 'https://app.example.com:443', false],
  ])('%j admits %s: %s', (origins, origin, allowed) => {
    expect(originAllowed(cors(origins), origin)).toBe(allowed);
  });
});
