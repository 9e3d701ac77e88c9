import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, rawRequest, request } from './http.js';

let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const echo = JSON.stringify({ method: req.method, url: req.url, version: req.httpVersion, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.write('{"result":1}\n');
        res.end('{"result":2}\n');
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(echo) }).end(req.method === 'HEAD' ? undefined : echo);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('request', () => {
  it('sends any method, raw headers and a JSON body', async () => {
    const r = await request(`http://127.0.0.1:${port}/x?y=1`, { method: 'PURGE', headers: { 'x-a': ['1', '2'] }, body: { a: 'é' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json).toMatchObject({ method: 'PURGE', url: '/x?y=1', body: '{"a":"é"}', headers: { 'x-a': '1, 2', 'content-type': 'application/json' } });
  });

  it('leaves json undefined for a body that is not JSON', async () => {
    const r = await request(`http://127.0.0.1:${port}/chunked`);
    expect(r.json).toBeUndefined();
    expect(ndjson(r.body)).toEqual([{ result: 1 }, { result: 2 }]);
  });
});

describe('rawRequest', () => {
  it.each([
    ['HTTP/1.0 (server closes)', 'GET /a HTTP/1.0\r\n\r\n', /^HTTP\/1\.1 200[\s\S]*"version":"1.0"/],
    ['HTTP/1.1 keep-alive, by Content-Length', 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 200[\s\S]*"url":"\/b"[\s\S]*\}$/],
    ['chunked', 'GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n', /\r\n0\r\n\r\n$/],
    ['204 without a body', 'GET /empty HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 204 No Content\r\n[\s\S]*\r\n\r\n$/],
    ['HEAD', 'HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 200[\s\S]*content-length: \d+\r\n[\s\S]*\r\n\r\n$/i],
  ])('returns the first complete response: %s', async (_name, text, expected) => {
    expect(await rawRequest(port, text, { timeoutMs: 2000 })).toMatch(expected);
  });

  it('rejects when no complete response arrives in time', async () => {
    await expect(rawRequest(port, 'GET /d HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 100 })).rejects.toThrow(/no complete response within 100 ms/);
  });
});
