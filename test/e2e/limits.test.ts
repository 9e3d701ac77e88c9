/**
 * Limits and odd clients at the HTTP level (src/http/limits.ts), against a real attache and backend over
 * raw sockets and Node's own client: every refusal a google.rpc.Status, read by the client.
 */
import http from 'node:http';
import net from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/telemetry/logging.js';
import { logLines } from '../support/log-lines.js';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { rawRequest, request } from '../support/http.js';

let server: TestServer;
let attache: TestAttache;
let port = 0;
const { sink, lines } = logLines();
const logs = (): Array<Record<string, unknown>> => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  server = await startTestServer();
  attache = await startAttache(
    ['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target, '--body-limit', '1MiB', '--header-timeout', '500ms', '--linger-time', '2s'],
    {},
    { logger: (config) => pino(loggerOptions({ ...config, logLevel: 'info' }), sink) },
  );
  port = Number(new URL(attache.url).port);
});
afterAll(async () => {
  await attache?.stop();
  await server?.close();
});

const statusOf = (text: string): number => Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
const bodyOf = (text: string): unknown => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

describe('body too large', () => {
  it('a client that writes its whole 64 MiB body before reading gets the 413, not EPIPE (lingering close)', async () => {
    const body = Buffer.alloc(64 * 1024 * 1024, 0x61);
    const outcome = await new Promise<{ status?: number; text?: string; error?: string }>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/echo', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      req.end(body);
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe(413);
    expect(JSON.parse(outcome.text!)).toMatchObject({ code: 8, message: expect.stringContaining('too large'), details: [] });
  });

  it('twenty clients in a row sending 2 MiB in one write then reading: every one reads its 413', async () => {
    for (let i = 0; i < 20; i++) {
      const head = `POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`;
      const text = await rawRequest(port, Buffer.concat([Buffer.from(head), Buffer.alloc(2 * 1024 * 1024, 0x61)]));
      expect([i, statusOf(text)]).toEqual([i, 413]);
    }
  });

  it('Expect: 100-continue over the limit: 413 at once, never "100 Continue"; under it, 100 then the answer', async () => {
    const over = await rawRequest(port, `POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`);
    expect(over.startsWith('HTTP/1.1 413 ')).toBe(true);
    const body = '{"id":"c1"}';
    const text = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(`POST /v1/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`));
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !got.includes('200')) s.write(body);
      });
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ')).toBe(true);
  });
});

describe('request head limits', () => {
  it('a URL over the limit: 414; more query parameters than allowed: 400; a head over the limit: 431', async () => {
    const long = await request(`${attache.url}/v1/echo/${'a'.repeat(9000)}`);
    expect(long.status).toBe(414);
    expect(long.json).toMatchObject({ code: 3, message: expect.stringContaining('limit is 8192'), details: [] });
    const many = await request(`${attache.url}/v1/echo/x?${Array.from({ length: 1001 }, (_, i) => `p${i}=1`).join('&')}`);
    expect(many.status).toBe(400);
    expect(many.json).toMatchObject({ code: 3, message: expect.stringContaining('more than 1000 query parameters') });
    const big = await rawRequest(port, `GET /v1/echo/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    expect(statusOf(big)).toBe(431);
    expect(bodyOf(big)).toMatchObject({ code: 8, details: [] });
  });

  it('a client too slow with its head (slowloris): 408 after the header timeout, and the connection is closed', async () => {
    const t0 = Date.now();
    const text = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /v1/echo/x HTTP/1.1\r\nHost: x\r\n'));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
    });
    expect(statusOf(text)).toBe(408);
    expect(bodyOf(text)).toMatchObject({ code: 4, details: [] });
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe('odd clients', () => {
  it('CONNECT: 405 with Allow, in the Status shape', async () => {
    const text = await rawRequest(port, 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n');
    expect(statusOf(text)).toBe(405);
    expect(text.toLowerCase()).toContain('\r\nallow: ');
    expect(bodyOf(text)).toMatchObject({ code: 12, message: expect.stringContaining('CONNECT'), details: [] });
  });

  it('an HTTP/1.0 client that half-closes after its request (nc -q 0) still gets its answer', async () => {
    const text = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.end('GET /v1/echo/half HTTP/1.0\r\n\r\n'));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
    });
    expect(statusOf(text)).toBe(200);
  });

  it('a client that disconnects mid-body is an access line with 499, not an error with a stack trace', async () => {
    const before = lines.length;
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"id":');
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 100);
      });
      s.on('error', () => undefined);
    });
    const until = Date.now() + 2000;
    while (!logs().slice(before).some((l) => l['status'] === 499) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const mine = logs().slice(before);
    expect(mine.filter((l) => (l['level'] as number) >= 50)).toEqual([]);
    expect(mine.some((l) => l['status'] === 499 && l['path'] === '/v1/echo')).toBe(true);
    expect(JSON.stringify(mine)).not.toContain('"stack"');
  });
});
