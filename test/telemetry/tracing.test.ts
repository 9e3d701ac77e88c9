/**
 * Trace propagation end to end: a real attache on loopback in front of the recording grpc-js server, with an
 * in-memory span exporter. What the upstream received (RecordedCall.metadata) is compared with the spans
 * attache exported.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { startAttache, type TestAttache } from '../support/attache.js';
import { E2E_MAPPINGS_DIR, E2E_PROTOS_DIR, startTestServer, type RecordedCall, type TestServer } from '../support/grpc-server.js';
import { request } from '../support/http.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

let server: TestServer;
let attache: TestAttache;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  server = await startTestServer();
  attache = await startAttache(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target], {}, {
    start: { tracing: { spanProcessors: [new SimpleSpanProcessor({ exporter })] } },
  });
});
afterAll(async () => {
  await attache?.stop();
  await server?.close();
});
afterEach(() => {
  exporter.reset();
  server.reset();
});

/**
 * The spans of one request: the server span, the upstream call's span under it (INTERNAL once spans are
 * recorded) and the attempt spans under that (CLIENT, one per attempt, in start order).
 */
function spansOf(traceId: string): { server: ReadableSpan; call: ReadableSpan | undefined; attempts: ReadableSpan[]; client: ReadableSpan | undefined } {
  const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const server = spans.find((s) => s.kind === SpanKind.SERVER);
  if (server === undefined) throw new Error(`no server span for ${traceId}; have ${exporter.getFinishedSpans().map((s) => s.name).join(', ')}`);
  const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT).sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  return { server, call: spans.find((s) => s.kind === SpanKind.INTERNAL), attempts, client: attempts[0] };
}

function parsedTraceparent(call: RecordedCall): { traceId: string; parentId: string; flags: string } {
  const tp = call.metadata['traceparent'];
  expect(typeof tp).toBe('string');
  const m = TRACEPARENT_RE.exec(tp as string);
  if (m === null) throw new Error(`bad traceparent upstream: ${String(tp)}`);
  return { traceId: m[1]!, parentId: m[2]!, flags: m[3]! };
}

async function getEcho(headers: Record<string, string>): Promise<RecordedCall> {
  const res = await request(`${attache.url}/v1/echo/e1`, { headers });
  expect(res.status).toBe(200);
  return server.waitForCall('GetEcho');
}

describe('trace propagation', () => {
  it('traceparent in → the upstream sees the same trace id with attache\'s client (attempt) span as parent', async () => {
    const call = await getEcho({ traceparent: TRACEPARENT });
    const up = parsedTraceparent(call);
    expect(up.traceId).toBe(TRACE_ID);
    expect(up.flags).toBe('01');
    const { server: srv, call: callSpan, attempts, client } = spansOf(TRACE_ID);
    expect(attempts).toHaveLength(1);
    // server span ← the caller's span; call span ← server span; attempt (client) span ← call span; upstream ← attempt span
    expect(srv.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(srv.parentSpanContext?.isRemote).toBe(true);
    expect(callSpan!.parentSpanContext?.spanId).toBe(srv.spanContext().spanId);
    expect(client!.parentSpanContext?.spanId).toBe(callSpan!.spanContext().spanId);
    expect(up.parentId).toBe(client!.spanContext().spanId);
    // B3 multi goes upstream too, with the same ids
    expect(call.metadata['x-b3-traceid']).toBe(TRACE_ID);
    expect(call.metadata['x-b3-spanid']).toBe(client!.spanContext().spanId);
    expect(call.metadata['x-b3-sampled']).toBe('1');
  });

  it('names and annotates the server and client spans per the semantic conventions', async () => {
    await getEcho({ traceparent: TRACEPARENT });
    const { server: srv, call, client } = spansOf(TRACE_ID);
    expect(srv.name).toBe('GET /v1/echo/{id}');
    expect(srv.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/v1/echo/{id}', 'http.response.status_code': 200 });
    expect(call!.name).toBe('e2e.v1.EchoService/GetEcho');
    expect(call!.attributes).toMatchObject({
      'rpc.system': 'grpc', 'rpc.service': 'e2e.v1.EchoService', 'rpc.method': 'GetEcho', 'rpc.grpc.status_code': 0, 'attache.rpc.attempts': 1,
    });
    expect(client!.name).toBe('e2e.v1.EchoService/GetEcho');
    expect(client!.kind).toBe(SpanKind.CLIENT);
    expect(client!.attributes).toMatchObject({
      'rpc.system': 'grpc', 'rpc.service': 'e2e.v1.EchoService', 'rpc.method': 'GetEcho', 'rpc.grpc.status_code': 0, 'rpc.grpc.attempt': 1,
      'server.address': server.target, 'network.peer.address': '127.0.0.1', 'network.peer.port': Number(server.target.split(':')[1]),
    });
  });

  it('carries tracestate and baggage through', async () => {
    const call = await getEcho({ traceparent: TRACEPARENT, tracestate: 'vendor=abc,other=x1', baggage: 'user=alice,tenant=t1' });
    expect(call.metadata['tracestate']).toBe('vendor=abc,other=x1');
    expect(String(call.metadata['baggage']).split(',').sort()).toEqual(['tenant=t1', 'user=alice']);
  });

  it('b3 single in → W3C and B3 out with the same trace id', async () => {
    const traceId = '80f198ee56343ba864fe8b2a57d3eff7';
    const call = await getEcho({ b3: `${traceId}-e457b5a2e4d86bd1-1` });
    const up = parsedTraceparent(call);
    const { server: srv, client } = spansOf(traceId);
    expect(up.traceId).toBe(traceId);
    expect(up.parentId).toBe(client!.spanContext().spanId);
    expect(srv.parentSpanContext?.spanId).toBe('e457b5a2e4d86bd1');
    expect(call.metadata['x-b3-traceid']).toBe(traceId);
    expect(call.metadata['x-b3-spanid']).toBe(client!.spanContext().spanId);
    expect(call.metadata['b3']).toBeUndefined();
  });

  it('X-B3-* multi in → W3C and B3 out with the same trace id', async () => {
    const traceId = '463ac35c9f6413ad48485a3953bb6124';
    const call = await getEcho({ 'X-B3-TraceId': traceId, 'X-B3-SpanId': 'a2fb4a1d1a96d312', 'X-B3-Sampled': '1' });
    const up = parsedTraceparent(call);
    const { server: srv, client } = spansOf(traceId);
    expect(up.traceId).toBe(traceId);
    expect(up.parentId).toBe(client!.spanContext().spanId);
    expect(srv.parentSpanContext?.spanId).toBe('a2fb4a1d1a96d312');
    expect(call.metadata['x-b3-traceid']).toBe(traceId);
    expect(call.metadata['x-b3-sampled']).toBe('1');
  });

  it('no trace headers → a new trace, attache\'s server span its root', async () => {
    const call = await getEcho({});
    const up = parsedTraceparent(call);
    expect(up.flags).toBe('01');
    const { server: srv, client } = spansOf(up.traceId);
    expect(srv.parentSpanContext).toBeUndefined();
    expect(up.parentId).toBe(client!.spanContext().spanId);
  });

  it('an unsampled parent stays unsampled: flags 00 upstream, nothing exported', async () => {
    const call = await getEcho({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` });
    const up = parsedTraceparent(call);
    expect(up.traceId).toBe(TRACE_ID);
    expect(up.flags).toBe('00');
    expect(up.parentId).not.toBe(PARENT_ID);
    expect(call.metadata['x-b3-sampled']).toBe('0');
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('an unsampled B3 parent stays unsampled', async () => {
    const call = await getEcho({ b3: `${TRACE_ID}-${PARENT_ID}-0` });
    expect(parsedTraceparent(call).flags).toBe('00');
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('a failed call: the call and attempt spans have the gRPC code and status ERROR; the server span the HTTP status', async () => {
    const res = await request(`${attache.url}/v1/fail/5`, { headers: { traceparent: TRACEPARENT } });
    expect(res.status).toBe(404);
    const { server: srv, call, client } = spansOf(TRACE_ID);
    for (const s of [call!, client!]) {
      expect(s.attributes['rpc.grpc.status_code']).toBe(5);
      expect(s.status.code).toBe(2); // SpanStatusCode.ERROR
    }
    expect(srv.attributes['http.response.status_code']).toBe(404);
    expect(srv.status.code).toBe(0); // a 4xx is not a server error (HTTP semantic conventions)
  });

  it('retries: every attempt carries its own attempt span as parent; the call span counts the attempts', async () => {
    const res = await request(`${attache.url}/v1/fail/14`, { headers: { traceparent: TRACEPARENT } });
    expect(res.status).toBe(503);
    const attempts = server.calls.filter((c) => c.method === 'Fail');
    expect(attempts).toHaveLength(3);
    const { call, attempts: spans } = spansOf(TRACE_ID);
    expect(call!.attributes['attache.rpc.attempts']).toBe(3);
    expect(attempts.map((a) => parsedTraceparent(a).parentId)).toEqual(spans.map((s) => s.spanContext().spanId));
    expect(spans.map((s) => [s.attributes['rpc.grpc.attempt'], s.attributes['rpc.grpc.status_code']])).toEqual([[1, 14], [2, 14], [3, 14]]);
    expect(attempts.map((a) => a.metadata['grpc-previous-rpc-attempts'])).toEqual([undefined, '1', '2']);
  });

  it('an unmatched path still gets a server span named by its method only', async () => {
    const res = await request(`${attache.url}/nope`, { headers: { traceparent: TRACEPARENT } });
    expect(res.status).toBe(404);
    const { server: srv, call, client } = spansOf(TRACE_ID);
    expect(srv.name).toBe('GET');
    expect(srv.attributes['http.route']).toBeUndefined();
    expect(call).toBeUndefined();
    expect(client).toBeUndefined();
  });
});

describe('OTEL_* settings', () => {
  it('OTEL_PROPAGATORS=b3 writes the single b3 header only; OTEL_SDK_DISABLED forwards headers verbatim', async () => {
    const b3only = await startAttache(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target], { OTEL_PROPAGATORS: 'b3' });
    const off = await startAttache(['--protos', E2E_PROTOS_DIR, '--mappings', E2E_MAPPINGS_DIR, '--upstream', server.target], { OTEL_SDK_DISABLED: 'true' });
    try {
      await request(`${b3only.url}/v1/echo/e1`, { headers: { traceparent: TRACEPARENT } });
      const a = await server.waitForCall('GetEcho');
      // b3 alone does not read traceparent: a new trace, written as `b3: trace-span-1`
      expect(a.metadata['traceparent']).toBeUndefined();
      expect(a.metadata['b3']).toMatch(/^[0-9a-f]{32}-[0-9a-f]{16}-1$/);
      expect(String(a.metadata['b3'])).not.toContain(TRACE_ID);

      await request(`${b3only.url}/v1/echo/e1`, { headers: { b3: `${TRACE_ID}-${PARENT_ID}-1` } });
      const b = await server.waitForCall('GetEcho');
      expect(String(b.metadata['b3']).startsWith(`${TRACE_ID}-`)).toBe(true);
      expect(String(b.metadata['b3'])).not.toContain(PARENT_ID);

      await request(`${off.url}/v1/echo/e1`, { headers: { traceparent: TRACEPARENT, b3: 'x' } });
      const c = await server.waitForCall('GetEcho');
      expect(c.metadata['traceparent']).toBe(TRACEPARENT);
      expect(c.metadata['b3']).toBe('x');
    } finally {
      await b3only.stop();
      await off.stop();
    }
  });
});
