import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Context, type Tracer } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { TracerProvider, type IdGenerator } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { createTracing, headerGetter, metadataSetter, propagatorFor, PropagationTracer, samplerFor, type TelemetrySettings } from './tracing.js';
import { CallMetadata } from '../upstream/call-metadata.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

/** Ids from a counter, so the SDK's tracer and the PropagationTracer can be compared id for id. */
function countingIds(): IdGenerator {
  let n = 0;
  const next = (digits: number): string => (++n).toString(16).padStart(digits, '0');
  return { generateTraceId: () => next(32), generateSpanId: () => next(16) };
}

/** The trace headers attache writes upstream for a server span + client span under `headers`. */
function upstreamHeaders(tracer: Tracer, headers: Record<string, string>, propagators?: TelemetrySettings['propagators']): Record<string, unknown> {
  const propagator = propagatorFor(propagators);
  const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter);
  const server = tracer.startSpan('GET', { kind: SpanKind.SERVER }, parent);
  const serverCtx = trace.setSpan(parent, server);
  const client = tracer.startSpan('e2e.v1.EchoService/GetEcho', { kind: SpanKind.CLIENT }, serverCtx);
  const fields: string[] = [];
  propagator.inject(trace.setSpan(serverCtx, client), fields, metadataSetter);
  const md = CallMetadata.EMPTY.replacing(new Set(), fields);
  server.end();
  client.end();
  return { ...Object.fromEntries(Object.entries(md.toJSON()).map(([k, v]) => [k, v[0]])), server: server.spanContext() };
}

const SAMPLERS: readonly [TelemetrySettings['sampler'], number][] = [
  ['parentbased_always_on', 1],
  ['parentbased_always_off', 1],
  ['parentbased_traceidratio', 0.5],
  ['traceidratio', 0.5],
  ['always_on', 1],
  ['always_off', 1],
];

const INBOUND: readonly Record<string, string>[] = [
  {},
  { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'vendor=abc,other=x1', baggage: 'user=alice' },
  { traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` },
  { b3: `${TRACE_ID}-${PARENT_ID}-1` },
  { b3: `${TRACE_ID}-${PARENT_ID}-0` },
  { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': PARENT_ID, 'x-b3-sampled': '1' },
  { 'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7', 'x-b3-spanid': PARENT_ID, 'x-b3-flags': '1' },
  { traceparent: 'garbage' },
];

describe('PropagationTracer writes what the SDK tracer (no span processor) writes', () => {
  const cases = SAMPLERS.flatMap(([sampler, arg]) => INBOUND.map((headers) => [sampler, arg, headers] as const));
  it.each(cases)('%s(%d) with %j', (name, arg, headers) => {
    const sdk = new TracerProvider({ sampler: samplerFor(name, arg), idGenerator: countingIds() }).getTracer('t');
    const ours = new PropagationTracer(samplerFor(name, arg), countingIds());
    expect(upstreamHeaders(ours, headers)).toEqual(upstreamHeaders(sdk, headers));
    expect(upstreamHeaders(ours, headers, ['b3', 'tracecontext'])).toEqual(upstreamHeaders(sdk, headers, ['b3', 'tracecontext']));
  });

  it('traceidratio roots: both decide the same for many random trace ids, and about half are sampled', () => {
    let sampled = 0;
    for (let i = 0; i < 400; i++) {
      const traceId = randomBytes(16).toString('hex');
      const ids: IdGenerator = { generateTraceId: () => traceId, generateSpanId: () => PARENT_ID };
      const sdk = new TracerProvider({ sampler: samplerFor('parentbased_traceidratio', 0.5), idGenerator: ids }).getTracer('t').startSpan('GET');
      const ours = new PropagationTracer(samplerFor('parentbased_traceidratio', 0.5), ids).startSpan('GET');
      expect(ours.spanContext()).toEqual(sdk.spanContext());
      sampled += ours.spanContext().traceFlags & TraceFlags.SAMPLED;
    }
    expect(sampled).toBeGreaterThan(100);
    expect(sampled).toBeLessThan(300);
  });
});

describe('PropagationTracer spans', () => {
  const remote = (flags: TraceFlags): Context =>
    trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: flags, isRemote: true });

  it.each([
    ['parentbased_always_on', TraceFlags.SAMPLED, TraceFlags.SAMPLED],
    ['parentbased_always_on', TraceFlags.NONE, TraceFlags.NONE],
    ['parentbased_always_off', TraceFlags.SAMPLED, TraceFlags.SAMPLED],
    ['always_off', TraceFlags.SAMPLED, TraceFlags.NONE],
    ['always_on', TraceFlags.NONE, TraceFlags.SAMPLED],
  ] as const)('%s under a parent with flags %d: same trace, new span id, flags %d, not recording', (name, parentFlags, flags) => {
    const span = new PropagationTracer(samplerFor(name, 1)).startSpan('GET', { kind: SpanKind.SERVER }, remote(parentFlags));
    const sc = span.spanContext();
    expect(sc.traceId).toBe(TRACE_ID);
    expect(sc.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(sc.spanId).not.toBe(PARENT_ID);
    expect(sc.traceFlags).toBe(flags);
    expect(span.isRecording()).toBe(false);
  });

  it('a root span gets a new valid trace id; `root: true` ignores the parent; a suppressed context gets the invalid context', () => {
    const tracer = new PropagationTracer(samplerFor('parentbased_always_on', 1));
    const root = tracer.startSpan('GET', {}, ROOT_CONTEXT).spanContext();
    expect(trace.isSpanContextValid(root)).toBe(true);
    expect(root.traceFlags).toBe(TraceFlags.SAMPLED);
    expect(tracer.startSpan('GET', { root: true }, remote(TraceFlags.NONE)).spanContext().traceId).not.toBe(TRACE_ID);
    expect(trace.isSpanContextValid(tracer.startSpan('GET', {}, suppressTracing(remote(TraceFlags.SAMPLED))).spanContext())).toBe(false);
  });

  it('startActiveSpan runs the function with the span', () => {
    const tracer = new PropagationTracer(samplerFor('always_on', 1));
    expect(tracer.startActiveSpan('x', (s) => s.spanContext().traceFlags)).toBe(TraceFlags.SAMPLED);
    expect(tracer.startActiveSpan('x', {}, remote(TraceFlags.NONE), (s) => s.spanContext().traceId)).toBe(TRACE_ID);
  });
});

describe('createTracing', () => {
  const settings = (env: Record<string, string>): TelemetrySettings => {
    const r = loadConfig([], env);
    if (!r.ok) throw new Error(r.errors.join('\n'));
    return r.config.telemetry;
  };

  it.each([
    [{}, true, false, true],
    [{ OTEL_TRACES_EXPORTER: 'none' }, true, false, true],
    [{ OTEL_SDK_DISABLED: 'true' }, false, false, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true, true, false],
  ])('%j: enabled %s, recording %s, PropagationTracer %s', async (env, enabled, recording, propagationOnly) => {
    const t = await createTracing(settings(env), 'test');
    try {
      expect([t.enabled, t.recording, t.tracer instanceof PropagationTracer]).toEqual([enabled, recording, propagationOnly]);
    } finally {
      await t.shutdown();
    }
  });
});
