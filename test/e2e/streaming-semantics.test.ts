/**
 * Stream semantics beyond framing: the deadline covers the whole stream, the idle timeout between messages
 * (`--stream-idle-timeout`), response metadata as Grpc-Metadata-* headers and trailers as HTTP trailers
 * (with `TE: trailers`), the per-route message metrics and one access-log line per stream with its message
 * counts. test/grpc-js/streaming-semantics.test.ts runs it again on grpc-js.
 */
import http from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/telemetry/logging.js';
import { logLines } from '../support/log-lines.js';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, E2E_STREAMING_MAPPINGS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { ndjson, request } from '../support/http.js';
import { parsePrometheus, sampleSum } from '../support/prometheus.js';

let server: TestServer;
let attache: TestAttache;
const { sink, lines } = logLines();

beforeAll(async () => {
  server = await startTestServer();
  attache = await startAttache(
    ['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--mappings', E2E_STREAMING_MAPPINGS_DIR, '--upstream', server.target, '--stream-idle-timeout', '300ms', '--sse-heartbeat', '100ms'],
    {},
    { logger: (config) => pino(loggerOptions({ ...config, logLevel: 'info' }), sink) },
  );
});

afterAll(async () => {
  await attache?.stop();
  await server?.close();
});

beforeEach(() => server.reset());

/** The access-log lines (msg "request") written since `from`. */
const accessLines = (from: number): Array<Record<string, unknown>> =>
  lines.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'request');

describe('deadlines', () => {
  it('the deadline covers the whole stream: a stream still running at it ends with DEADLINE_EXCEEDED as its last line', async () => {
    const r = await request(`${attache.url}/v1/stream?count=20&intervalMs=100`, { headers: { 'x-request-timeout': '450ms' } });
    expect(r.status).toBe(200);
    const out = ndjson(r.body) as Array<{ result?: unknown; error?: { code: number } }>;
    expect(out.length).toBeGreaterThan(1);
    expect(out.length).toBeLessThan(20);
    expect(out.at(-1)?.error?.code).toBe(4);
    expect((await server.waitForCall('Stream', 5000)).cancelled).toBe(true);
  });

  it('the idle timeout: no message either way for --stream-idle-timeout ends the stream (a 504 before the first message)', async () => {
    const early = await request(`${attache.url}/v1/stream?count=2&intervalMs=600`);
    expect(early.status).toBe(504);
    expect(early.json).toMatchObject({ code: 4, message: expect.stringMatching(/idle .* 300 ms/) });
    // Messages 200 ms apart keep a stream alive well past the idle timeout.
    const busy = await request(`${attache.url}/v1/stream?count=4&intervalMs=200`);
    expect(ndjson(busy.body)).toHaveLength(4);
  });
});

describe('metadata and trailers', () => {
  it('response headers are Grpc-Metadata-* headers of the stream', async () => {
    const r = await request(`${attache.url}/v1/stream?count=1`);
    expect(r.headers['grpc-metadata-x-echo-header']).toBe('h');
  });

  it('with TE: trailers, the upstream trailers are HTTP trailers (Grpc-Trailer-*)', async () => {
    const trailers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      const req = http.get(`${attache.url}/v1/stream?count=2`, { headers: { te: 'trailers' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.trailers));
      });
      req.on('error', reject);
    });
    expect(trailers['grpc-trailer-x-echo-trailer']).toBe('t');
  });

  it('a stream that fails before its first message carries its trailers as headers of the error', async () => {
    const r = await request(`${attache.url}/v1/stream?count=0&fail.code=7&fail.trailers[x-why]=nope`);
    expect(r.status).toBe(403);
    expect(r.headers['grpc-trailer-x-why']).toBe('nope');
  });
});

describe('SSE heartbeats', () => {
  it('an idle SSE stream gets comment lines, which commit it', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.get(`${attache.url}/v1/stream?count=1&intervalMs=250`, { headers: { accept: 'text/event-stream' } }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
    });
    expect(body).toMatch(/^: heartbeat\n\n/);
    expect(body).toContain('id: 0\ndata: {"note":"item 0"}\n\n');
  });
});

describe('telemetry', () => {
  it('messages in and out per route in /metrics, and one access-log line per stream with its counts', async () => {
    const scrape = async () => parsePrometheus((await request(`${attache.adminUrl}/metrics`)).body);
    const before = await scrape();
    const from = lines.length;
    const chat = await request(`${attache.url}/v1/chat`, { method: 'POST', body: '{"id":"a"}\n{"id":"b"}\n{"id":"c"}\n' });
    expect(ndjson(chat.body)).toHaveLength(3);
    const stream = await request(`${attache.url}/v1/stream?count=5`);
    expect(ndjson(stream.body)).toHaveLength(5);
    const after = await scrape();
    const delta = (route: string, direction: string): number =>
      sampleSum(after, 'attache_stream_messages_total', { route, direction }) - sampleSum(before, 'attache_stream_messages_total', { route, direction });
    expect(delta('/v1/chat', 'in')).toBe(3);
    expect(delta('/v1/chat', 'out')).toBe(3);
    expect(delta('/v1/stream', 'out')).toBe(5);
    const logged = accessLines(from);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ route: '/v1/chat', status: 200, grpcCode: 'OK', messagesIn: 3, messagesOut: 3 });
    expect(logged[1]).toMatchObject({ route: '/v1/stream', status: 200, grpcCode: 'OK', messagesIn: 0, messagesOut: 5 });
    expect(logged[1]!['bytesOut']).toBeGreaterThan(0);
  });
});
