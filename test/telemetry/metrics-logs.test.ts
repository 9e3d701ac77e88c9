/**
 * /metrics and the access log end to end: a real attache on loopback in front of the recording grpc-js
 * server. /metrics must parse as the Prometheus text format and its counters move by exactly the requests
 * made; every request writes exactly one access-log line; no credential reaches any log line.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loggerOptions } from '../../src/telemetry/logging.js';
import { logLines } from '../support/log-lines.js';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type TestServer } from '../support/grpc-server.js';
import { request } from '../support/http.js';
import { parsePrometheus, sampleSum, type Exposition } from '../support/prometheus.js';

let server: TestServer;
let attache: TestAttache;
const { sink, lines } = logLines();

beforeAll(async () => {
  server = await startTestServer();
  attache = await startAttache(
    ['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target, '--body-limit', '1KiB', '--redact-header', 'X-Api-Key'],
    {},
    // The most verbose level, so every line anything writes is checked.
    { logger: (config) => pino(loggerOptions({ ...config, logLevel: 'trace' }), sink) },
  );
});
afterAll(async () => {
  await attache?.stop();
  await server?.close();
});

async function scrape(): Promise<Exposition> {
  const res = await request(`${attache.adminUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(res.body);
}

const ECHO = { route: '/v1/echo/{id}', method: 'GET', grpc_method: 'e2e.v1.EchoService/GetEcho' };
const FAIL = { route: '/v1/fail/{code}', method: 'GET', grpc_method: 'e2e.v1.EchoService/Fail' };

describe('/metrics', () => {
  it('parses as Prometheus text, declares every attache metric, and the counters move by exactly the requests made', async () => {
    const before = await scrape();
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) sent.push(request(`${attache.url}/v1/echo/e${i}`));
    for (let i = 0; i < 2; i++) sent.push(request(`${attache.url}/v1/fail/5`));
    sent.push(request(`${attache.url}/v1/unknown/path/${'x'.repeat(40)}`));
    sent.push(request(`${attache.url}/v1/things/x`, { method: 'PATCH' }));
    sent.push(request(`${attache.url}/v1/echo`, { method: 'POST', body: { id: 'x'.repeat(4000) } }));
    await Promise.all(sent);
    const unavailable = await request(`${attache.url}/v1/fail/14`); // retried by grpc-js: 3 attempts
    expect(unavailable.status).toBe(503);
    const after = await scrape();
    const delta = (name: string, match: Record<string, string> = {}): number => sampleSum(after, name, match) - sampleSum(before, name, match);

    expect(delta('attache_http_requests_total')).toBe(9);
    expect(delta('attache_http_requests_total', { ...ECHO, status: '200', grpc_code: 'OK' })).toBe(3);
    expect(delta('attache_http_requests_total', { ...FAIL, status: '404', grpc_code: 'NOT_FOUND' })).toBe(2);
    expect(delta('attache_http_requests_total', { ...FAIL, status: '503', grpc_code: 'UNAVAILABLE' })).toBe(1);
    expect(delta('attache_http_requests_total', { route: '(unmatched)', method: 'GET', status: '404', grpc_code: 'NOT_FOUND', grpc_method: '' })).toBe(1);
    expect(delta('attache_http_requests_total', { route: '(unmatched)', method: 'PATCH', status: '405', grpc_code: 'UNIMPLEMENTED' })).toBe(1);
    expect(delta('attache_http_requests_total', { status: '413' })).toBe(1);
    // Labels are templates, never raw paths.
    expect(after.samples.some((s) => Object.values(s.labels).some((v) => v.includes('/v1/echo/e') || v.includes('xxxx')))).toBe(false);

    expect(delta('attache_http_request_duration_seconds_count')).toBe(9);
    expect(delta('attache_http_request_duration_seconds_count', { route: ECHO.route })).toBe(3);
    expect(delta('attache_upstream_call_duration_seconds_count')).toBe(6);
    expect(delta('attache_upstream_call_duration_seconds_count', { grpc_method: FAIL.grpc_method, grpc_code: 'UNAVAILABLE', upstream: server.target })).toBe(1);
    expect(delta('attache_upstream_retry_attempts_total', { grpc_method: FAIL.grpc_method })).toBe(2);
    expect(sampleSum(after, 'attache_http_requests_in_flight')).toBe(0);
    expect(sampleSum(after, 'attache_upstream_channel_state', { upstream: server.target, state: 'READY' })).toBe(1);
    expect(sampleSum(after, 'attache_upstream_channel_state', { upstream: server.target })).toBe(1);

    for (const [name, type] of [
      ['attache_http_requests_total', 'counter'],
      ['attache_http_request_duration_seconds', 'histogram'],
      ['attache_http_requests_in_flight', 'gauge'],
      ['attache_upstream_call_duration_seconds', 'histogram'],
      ['attache_upstream_retry_attempts_total', 'counter'],
      ['attache_circuit_breaker_state', 'gauge'],
      ['attache_upstream_channel_state', 'gauge'],
      ['attache_config_reloads_total', 'counter'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ] as const) {
      expect(after.types.get(name), name).toBe(type);
    }
  });

  it('shows each upstream\'s circuit-breaker state (closed here) and the reload hook', async () => {
    attache.running.metrics.configReload(false);
    const e = await scrape();
    expect(e.types.get('attache_circuit_breaker_state')).toBe('gauge');
    expect(sampleSum(e, 'attache_circuit_breaker_state', { upstream: server.target })).toBe(0);
    expect(sampleSum(e, 'attache_config_reloads_total', { result: 'failure' })).toBe(1);
  });
});

describe('access log and redaction', () => {
  it('writes one access-log line per request with the ids, route, codes, latency, attempts and sizes', async () => {
    const res = await request(`${attache.url}/v1/echo/e1`, { headers: { 'x-request-id': 'rid-access-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    expect(res.status).toBe(200);
    const mine = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o['reqId'] === 'rid-access-1');
    expect(mine).toHaveLength(1);
    const line = mine[0]!;
    expect(line).toMatchObject({
      msg: 'request', level: 30, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', method: 'GET', path: '/v1/echo/e1', route: '/v1/echo/{id}',
      grpcMethod: 'e2e.v1.EchoService/GetEcho', status: 200, grpcCode: 'OK', attempts: 1, upstream: server.target, bytesIn: 0,
      bytesOut: Buffer.byteLength(res.body),
    });
    expect(line['spanId']).toMatch(/^[0-9a-f]{16}$/);
    expect(typeof line['latencyMs']).toBe('number');
    expect(typeof line['upstreamMs']).toBe('number');
  });

  it('a request carrying Authorization: Bearer secret leaves no "secret" in any log line', async () => {
    const secretHeaders = { authorization: 'Bearer secret', cookie: 'session=secret', 'x-api-key': 'secret' };
    const before = lines.length;
    await request(`${attache.url}/v1/meta`, { headers: secretHeaders });
    await request(`${attache.url}/v1/fail/13`, { headers: secretHeaders });
    await request(`${attache.url}/v1/echo`, { method: 'POST', headers: secretHeaders, body: { id: 'y'.repeat(4000) } });
    await request(`${attache.url}/v1/echo/e1`, { headers: { ...secretHeaders, 'grpc-metadata-bad!key': 'v' } });
    // Anything that logs a request's headers (a plugin, a debugging line) goes through the same redaction.
    const logger = pino(loggerOptions({ logLevel: 'info', telemetry: { ...attache.running.snapshot.config.telemetry, redactHeaders: ['x-api-key'] } }), new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString().trim());
        done();
      },
    }));
    logger.info({ req: { headers: secretHeaders }, headers: secretHeaders }, 'debugging line');
    const written = lines.slice(before);
    expect(written.length).toBeGreaterThanOrEqual(5);
    expect(written.filter((l) => l.includes('"msg":"request"'))).toHaveLength(4);
    for (const l of written) expect(l).not.toContain('secret');
    expect(written.at(-1)).toContain('[redacted]');
  });
});
