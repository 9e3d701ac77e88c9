import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { CallMetadata } from '../upstream/call-metadata.js';
import { attemptsOf } from './exchange.js';
import { loggerOptions, prettyLine } from './logging.js';
import { headerGetter, metadataSetter, propagatorFor, type TraceFields } from './tracing.js';

const span = trace.wrapSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED });
const ctx = trace.setSpan(ROOT_CONTEXT, span);

function injected(names: Parameters<typeof propagatorFor>[0]): Record<string, unknown> {
  const fields: TraceFields = [];
  propagatorFor(names).inject(ctx, fields, metadataSetter);
  return Object.fromEntries(pairs(fields));
}

/** `[k, v, k, v…]` → `[[k, v]…]`. */
function pairs(fields: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < fields.length; i += 2) out.push([fields[i]!, fields[i + 1]!]);
  return out;
}

describe('propagatorFor (OTEL_PROPAGATORS)', () => {
  it.each([
    [undefined, ['traceparent', 'x-b3-sampled', 'x-b3-spanid', 'x-b3-traceid']],
    [['tracecontext'], ['traceparent']],
    [['b3'], ['b3']],
    [['b3multi'], ['x-b3-sampled', 'x-b3-spanid', 'x-b3-traceid']],
    [['tracecontext', 'b3'], ['b3', 'traceparent']],
    [['none'], []],
  ] as const)('%j writes %j', (names, keys) => {
    expect(Object.keys(injected(names)).sort()).toEqual([...keys].sort());
  });

  it.each([
    [{ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }],
    [{ b3: '4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1' }],
    [{ 'x-b3-traceid': '4bf92f3577b34da6a3ce929d0e0e4736', 'x-b3-spanid': '00f067aa0ba902b7', 'x-b3-sampled': '1' }],
  ])('the default reads %j', (headers) => {
    const got = trace.getSpanContext(propagatorFor(undefined).extract(ROOT_CONTEXT, headers, headerGetter));
    expect(got).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
  });

  it('prefers traceparent when a request carries both W3C and B3', () => {
    const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' };
    expect(trace.getSpanContext(propagatorFor(undefined).extract(ROOT_CONTEXT, headers, headerGetter))?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });
});

describe('telemetry settings from OTEL_* variables', () => {
  it('reads the standard variables', () => {
    const r = loadConfig([], {
      OTEL_PROPAGATORS: 'tracecontext, b3', OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'edge', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', ATTACHE_REDACT_HEADERS: 'X-Api-Key,x-token',
    });
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.config.telemetry).toEqual({
      disabled: false, serviceName: 'edge', tracesExporter: ['otlp'], otlpProtocol: 'grpc', otlpTracesProtocol: undefined,
      propagators: ['tracecontext', 'b3'], sampler: 'parentbased_traceidratio', samplerArg: 0.25, redactHeaders: ['x-api-key', 'x-token'],
    });
  });

  it.each([
    ['OTEL_PROPAGATORS', 'jaeger', /jaeger/],
    ['OTEL_TRACES_EXPORTER', 'zipkin', /zipkin/],
    ['OTEL_TRACES_SAMPLER_ARG', '2', /from 0 to 1/],
    ['OTEL_TRACES_SAMPLER', 'sometimes', /sometimes/],
  ])('%s=%s is an error naming the value', (name, value, message) => {
    const r = loadConfig([], { [name]: value });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toMatch(message);
  });
});

describe('attemptsOf (grpc-previous-rpc-attempts, gRFC A6)', () => {
  const md = (v?: string): CallMetadata => (v === undefined ? CallMetadata.EMPTY : CallMetadata.of([['grpc-previous-rpc-attempts', v]]));
  it.each([
    [[undefined, undefined], 1],
    [[md(), md()], 1],
    [[md('2'), undefined], 3],
    [[undefined, md('1')], 2],
    [[md('x'), md()], 1],
  ] as const)('%#: %j attempts', (mds, n) => {
    expect(attemptsOf(...mds)).toBe(n);
  });
});

describe('logging', () => {
  it('redacts authorization, cookie and the configured headers wherever headers are logged', () => {
    const opts = loggerOptions({ logLevel: 'info', telemetry: { redactHeaders: ['x-api-key'] } as never });
    const paths = (opts.redact as { paths: string[] }).paths;
    expect(paths).toContain('req.headers["authorization"]');
    expect(paths).toContain('headers["cookie"]');
    expect(paths).toContain('headers["x-api-key"]');
  });

  it('prettyLine makes a JSON line readable and passes other text through', () => {
    expect(prettyLine('{"level":30,"time":0,"msg":"request","status":200,"route":"/v1/x"}')).toBe('00:00:00.000 INFO  request status=200 route=/v1/x');
    expect(prettyLine('not json')).toBe('not json');
  });
});
