/**
 * Large messages end to end (issue 17), on both upstream transports: attache in front of a real grpc-js
 * server answering ItemLists of ~16 B, ~100 KiB and ~3 MiB of JSON (bench/large: realistic items with
 * accents, CJK, emoji and JSON escapes; and a bytes-heavy list) and taking a 3 MiB JSON body. Every body is
 * compared byte for byte with protobufjs's own encoding (an encoder independent of attache's codec). A
 * response the upstream resets half-way, one that does not decode, and a client that leaves half-way through
 * a large answer each get a clear outcome, and attache goes on serving.
 */
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMessages, itemListJson, LARGE_PROTOS, largeMethod as method, loadLarge } from '../../bench/large/messages.mjs';
import { startAttache, type TestAttache } from '../support/attache.js';
import { request } from '../support/http.js';

const messages = buildMessages(['tiny', 'medium', 'large', 'blobs']);
const { ItemList, IngestSummary } = loadLarge();

let server: grpc.Server;
let target = '';
let mappings = '';
/** What the server decoded from each Ingest body, as proto3 JSON. */
const ingested: string[] = [];

beforeAll(async () => {
  mappings = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-large-'));
  server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20 });
  server.addService(
    { GetItems: method('GetItems'), Ingest: method('Ingest') },
    {
      GetItems(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        const size = call.request.length > 2 ? call.request.toString('utf8', 2) : '';
        // "corrupt": the large list cut short inside an item (a well-framed gRPC message that is not an ItemList).
        if (size === 'corrupt') return cb(null, messages['large']!.bytes.subarray(0, messages['large']!.bytes.length - 7));
        const m = messages[size];
        if (m === undefined) return cb({ code: grpc.status.NOT_FOUND, details: `no size ${size}` });
        cb(null, m.bytes);
      },
      Ingest(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        const list = ItemList.decode(call.request);
        ingested.push(itemListJson(list));
        cb(null, Buffer.from(IngestSummary.encode(IngestSummary.fromObject({ items: (list as unknown as { items: unknown[] }).items.length, requestBytes: call.request.length })).finish()));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  target = `127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.tryShutdown(() => r()));
  fs.rmSync(mappings, { recursive: true, force: true });
});

/** GET on `base`, the body as bytes (the test's own client, so no UTF-8 decoding hides a bad octet). */
function getBytes(url: string, opts: { abortAfterBytes?: number } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 20_000 }, (res) => {
      const parts: Buffer[] = [];
      let got = 0;
      res.on('data', (d: Buffer) => {
        parts.push(d);
        got += d.length;
        if (opts.abortAfterBytes !== undefined && got >= opts.abortAfterBytes) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 20 s')));
    req.on('error', (err) => (opts.abortAfterBytes !== undefined ? undefined : reject(err)));
  });
}

describe.each([['attache HTTP/2 client', 'auto'], ['grpc-js', 'grpc-js']])('large messages, upstream transport %s', (_name, transport) => {
  let attache: TestAttache;
  beforeAll(async () => {
    attache = await startAttache(['--protos', LARGE_PROTOS, '--mappings', mappings, '--upstream', target, '--upstream-transport', transport]);
  });
  afterAll(async () => {
    await attache?.stop();
  });

  it.each(['tiny', 'medium', 'large', 'blobs'])('GET %s: the body is byte for byte protobufjs\'s JSON, with its content-length', async (size) => {
    const r = await getBytes(`${attache.url}/v1/large/${size}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    const want = Buffer.from(messages[size]!.json);
    expect(r.body.length).toBe(want.length);
    expect(r.body.equals(want)).toBe(true);
    expect(Number(r.headers['content-length'])).toBe(want.length);
  });

  it('12 large answers at once: every one whole and exact', async () => {
    const want = Buffer.from(messages['large']!.json);
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => getBytes(`${attache.url}/v1/large/${i % 2 === 0 ? 'large' : 'blobs'}`)));
    all.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.equals(i % 2 === 0 ? want : Buffer.from(messages['blobs']!.json))).toBe(true);
    });
  });

  it('POST of a 3 MiB JSON body: the upstream decodes exactly the message the JSON spells', async () => {
    const before = ingested.length;
    const body = messages['large']!.json;
    expect(Buffer.byteLength(body)).toBeGreaterThan(3_000_000);
    const r = await request(`${attache.url}/v1/large:ingest`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, timeoutMs: 20_000 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ items: 10000 });
    expect(ingested.length).toBe(before + 1);
    expect(ingested[before]).toBe(body);
  });

  it('an upstream answer that does not decode (cut inside an item): 500 INTERNAL naming the type, then the next request works', async () => {
    const r = await request(`${attache.url}/v1/large/corrupt`, { timeoutMs: 20_000 });
    expect(r.status).toBe(500);
    expect(r.json).toMatchObject({ code: 13 });
    expect((r.json as { message: string }).message).toContain('large.v1.ItemList');
    expect((await getBytes(`${attache.url}/v1/large/medium`)).body.equals(Buffer.from(messages['medium']!.json))).toBe(true);
  });

  it('a client that leaves half-way through a large answer: attache goes on serving', async () => {
    const part = await getBytes(`${attache.url}/v1/large/large`, { abortAfterBytes: 256 * 1024 });
    expect(part.status).toBe(200);
    const r = await getBytes(`${attache.url}/v1/large/large`);
    expect(r.body.equals(Buffer.from(messages['large']!.json))).toBe(true);
  });
});

describe.each([['attache HTTP/2 client', 'auto'], ['grpc-js', 'grpc-js']])('an upstream that resets a large answer half-way, transport %s', (_name, transport) => {
  let h2: http2.Http2Server;
  let attache: TestAttache;
  let resets = 0;
  beforeAll(async () => {
    const bytes = messages['large']!.bytes;
    const framed = Buffer.alloc(5 + bytes.length);
    framed.writeUInt32BE(bytes.length, 1);
    bytes.copy(framed, 5);
    h2 = http2.createServer();
    h2.on('stream', (stream) => {
      stream.on('error', () => undefined);
      const reset = resets++ % 2 === 0;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: !reset });
      if (reset) {
        // Half of the message, then RST_STREAM INTERNAL_ERROR once it is written.
        stream.write(framed.subarray(0, framed.length >> 1), () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
      } else {
        stream.end(framed);
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      }
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    const port = (h2.address() as { port: number }).port;
    attache = await startAttache(['--protos', LARGE_PROTOS, '--mappings', mappings, '--upstream', `127.0.0.1:${port}`, '--upstream-transport', transport]);
  });
  afterAll(async () => {
    await attache?.stop();
    await new Promise<void>((r) => h2.close(() => r()));
  });

  it('the client gets a google.rpc.Status error (INTERNAL, the reset named), and the next large answer is whole', async () => {
    const r = await request(`${attache.url}/v1/large/large`, { timeoutMs: 20_000 });
    expect(r.status).toBe(500);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json).toMatchObject({ code: 13 });
    expect((r.json as { message: string }).message).toMatch(/RST_STREAM/);
    const ok = await getBytes(`${attache.url}/v1/large/large`);
    expect(ok.status).toBe(200);
    expect(ok.body.equals(Buffer.from(messages['large']!.json))).toBe(true);
  });
});
