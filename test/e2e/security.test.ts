/**
 * Security posture (issue 16, SECURITY.md): the admin and data listeners never serve each other's paths, and
 * no answer carries a stack trace or library internals, on either upstream transport: internal-error paths
 * (an upstream that answers bytes that are not its message, a "server" that is not gRPC, a refused
 * connection) and malformed requests (bad JSON, a bad escape, a control character in a header, headers too
 * large, a body too large, an absolute-form target naming the admin port).
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startAttache, type TestAttache } from '../support/attache.js';
import { RES_PROTOS_DIR, startFlakyServer, type FlakyServer } from '../support/flaky-server.js';
import { rawRequest, request } from '../support/http.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function attacheTo(target: string, flags: string[] = []): Promise<TestAttache> {
  const a = await startAttache(['--protos', RES_PROTOS_DIR, '--mappings', RES_PROTOS_DIR, '--upstream', target, '--breaker=false', '--retry-max-attempts', '1', ...flags]);
  cleanups.push(() => a.stop());
  return a;
}

/** What must never be in an answer: stack frames, source or dependency paths, engine error class names. */
const INTERNALS: readonly RegExp[] = [
  /\n\s*at\s/, /\bat [\w.<>]+ \(/, /node_modules/, /\.(?:ts|js|mjs|cjs):\d+/, /\/work\//, /node:internal/, /\bFST_[A-Z_]+/,
  /\b(?:TypeError|RangeError|ReferenceError|SyntaxError)\b/, /\bstack\b/i,
];

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, unknown>;
}

/** A raw HTTP/1.1 response (rawRequest's text) as status, lower-cased headers and body. */
async function raw(port: number, text: string): Promise<Answer> {
  const t = await rawRequest(port, text);
  const end = t.indexOf('\r\n\r\n');
  const [line, ...fields] = t.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const f of fields) headers[f.slice(0, f.indexOf(':')).toLowerCase()] = f.slice(f.indexOf(':') + 1).trim();
  return { status: Number(/^HTTP\/1\.\d (\d{3})/.exec(line ?? '')?.[1] ?? 0), headers, body: t.slice(end + 4) };
}

/** The answer is in the contract's Status shape, and holds none of {@link INTERNALS}. */
function expectClean(res: Answer, status: number): void {
  expect(res.status).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { code: unknown; message: unknown; details: unknown };
  expect(Object.keys(body).sort()).toEqual(['code', 'details', 'message']);
  expect(typeof body.message).toBe('string');
  for (const re of INTERNALS) expect(res.body).not.toMatch(re);
  for (const [name, value] of Object.entries(res.headers)) for (const re of INTERNALS) expect(`${name}: ${String(value)}`).not.toMatch(re);
}

describe('listeners: admin and data never serve each other\'s paths', () => {
  let s: FlakyServer;
  afterAll(() => s?.close());

  it('the data listener answers 404 (Status shape) for every admin path, also as an absolute-form target naming the admin port', async () => {
    s = await startFlakyServer();
    const a = await attacheTo(s.target);
    const adminPort = a.running.adminPort;
    for (const p of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/docs/']) {
      const res = await request(`${a.url}${p}`);
      expectClean(res, 404);
      expect(res.json).toMatchObject({ code: 5 });
      const abs = await raw(a.running.port, `GET http://127.0.0.1:${adminPort}${p} HTTP/1.1\r\nHost: 127.0.0.1:${adminPort}\r\nConnection: close\r\n\r\n`);
      expectClean(abs, 404);
    }
    // The admin listener itself serves them.
    expect((await request(`${a.adminUrl}/healthz`)).status).toBe(200);
    expect((await request(`${a.adminUrl}/metrics`)).status).toBe(200);
  });

  it('the admin listener serves none of the routes and never calls the upstream', async () => {
    s ??= await startFlakyServer();
    const a = await attacheTo(s.target);
    const before = s.total();
    for (const [method, p] of [['GET', '/v1/get/k1'], ['POST', '/v1/post/k1'], ['POST', '/v1/idem/k1'], ['GET', '/res.v1.Flaky/Get']] as const) {
      const res = await request(`${a.adminUrl}${p}`, { method, ...(method === 'POST' ? { body: {} } : {}) });
      expectClean(res, 404);
      expect(res.json).toMatchObject({ code: 5, message: `no admin endpoint ${method} ${p}` });
    }
    // It parses no body (a POST with broken JSON is not read as JSON) and its errors carry no Fastify codes.
    expectClean(await request(`${a.adminUrl}/healthz`, { method: 'POST', body: '{x', headers: { 'content-type': 'application/json' } }), 404);
    expectClean(await raw(a.running.adminPort, 'GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 400);
    // The same paths on the data listener do reach the upstream.
    expect((await request(`${a.url}/v1/get/k2`)).status).toBe(200);
    expect(s.total()).toBe(before + 1);
  });
});

describe.each(['auto', 'grpc-js'])('no stack traces or library internals in answers (transport %s)', (transport) => {
  const flags = ['--upstream-transport', transport];

  it('an upstream that answers bytes that are not its response message: 500 naming the type, nothing more', async () => {
    const server = new grpc.Server();
    const raw = (b: Buffer): Buffer => b;
    server.addService(
      { Get: { path: '/res.v1.Flaky/Get', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
      // Field 2 (int32 attempt): a varint whose continuation bit promises a byte that never comes.
      { Get: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from([0x10, 0xff])) },
    );
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    cleanups.push(() => void server.forceShutdown());
    const a = await attacheTo(`127.0.0.1:${port}`, flags);
    const res = await request(`${a.url}/v1/get/k1`);
    expectClean(res, 500);
    expect(res.json).toMatchObject({ code: 13 });
    expect((res.json as { message: string }).message).toMatch(/^upstream response could not be decoded as res\.v1\.FlakyReply/);
  });

  it('a "server" that is not gRPC at all (an HTTP/1.1 server), and a refused connection: 503, no internals', async () => {
    const sockets = new Set<net.Socket>();
    const junk = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    await new Promise<void>((resolve) => junk.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const c of sockets) c.destroy();
      junk.close();
    });
    const a = await attacheTo(`127.0.0.1:${(junk.address() as net.AddressInfo).port}`, [...flags, '--default-deadline', '3s']);
    const res = await request(`${a.url}/v1/get/k1`);
    expect([500, 503, 504]).toContain(res.status);
    expectClean(res, res.status);

    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const b = await attacheTo(`127.0.0.1:${port}`, [...flags, '--default-deadline', '3s']);
    const refused = await request(`${b.url}/v1/get/k1`);
    expect([503, 504]).toContain(refused.status);
    expectClean(refused, refused.status);
  });

  it('malformed requests: bad JSON, a bad escape, a control character in a header, headers too large, a body too large', async () => {
    const s = await startFlakyServer();
    cleanups.push(() => s.close());
    const a = await attacheTo(s.target, [...flags, '--body-limit', '1KiB']);
    const answers: Array<[Answer, number]> = [
      [await request(`${a.url}/v1/post/k1`, { method: 'POST', body: '{"key": ', headers: { 'content-type': 'application/json' } }), 400],
      [await request(`${a.url}/v1/post/k1`, { method: 'POST', body: '{"key": "\\ud800", "__proto__": {"x": 1}}' }), 400],
      [await request(`${a.url}/v1/get/%zz`), 400],
      [await request(`${a.url}/v1/post/k1`, { method: 'POST', body: 'x'.repeat(4096) }), 413],
      [await raw(a.running.port, `GET /v1/get/k1 HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n`), 400],
      [await raw(a.running.port, `GET /v1/get/k1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431],
    ];
    for (const [res, status] of answers) expectClean(res, status);
  });
});
