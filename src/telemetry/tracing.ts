/**
 * Tracing set-up: a TracerProvider, a sampler, span exporters and the propagators, built from the validated
 * telemetry config (whose OTEL_* names are the OpenTelemetry SDK environment variables) and handed to the
 * request path explicitly. Nothing here registers an OpenTelemetry global: two attache instances in one
 * process (the tests) each keep their own tracer, exporter and propagator.
 *
 * Why not NodeSDK: it registers the global tracer provider, propagator and context manager (a second
 * instance in the process silently shares the first one's), and with OTEL_* unset it also starts OTLP log
 * and metric exporters. We compose the same SDK parts it does (sdk-trace's TracerProvider, the OTLP trace
 * exporters, core's W3C propagators and propagator-b3) without the globals.
 *
 * Why not @opentelemetry/instrumentation-grpc: it patches `Client.prototype.makeUnaryRequest` through a
 * require hook, so an ESM `import` of grpc-js is not patched unless something `require`s grpc-js later
 * (test/telemetry/grpc-instrumentation.test.ts shows both); it reads the global tracer provider and
 * context; and it makes one span per call, like our own client span, because grpc-js retries run below
 * its interceptors and client methods (grpc-js retrying-call.ts). attache starts its client span itself.
 */
import {
  ROOT_CONTEXT,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Metadata } from '@grpc/grpc-js';
import type { Config } from '../config/load.js';
import { TRACE_HEADERS } from '../upstream/headers.js';

/** The telemetry settings (schema.ts `telemetry`). */
export type TelemetrySettings = Config['telemetry'];

/** What the request path needs to trace: a tracer and the propagator, or nothing when tracing is off. */
export interface Tracing {
  /** False when OTEL_SDK_DISABLED: no spans, no extraction; trace headers are forwarded verbatim. */
  readonly enabled: boolean;
  /** True when spans leave the process (an exporter or a test processor is configured). */
  readonly recording: boolean;
  readonly tracer: Tracer;
  /** Extracts from the inbound headers, injects into the upstream metadata. */
  readonly propagator: TextMapPropagator;
  /** Exports what is buffered; resolves even when the exporter fails (the failure is logged by the SDK). */
  forceFlush(): Promise<void>;
  /** Flushes and stops the exporters. Idempotent. */
  shutdown(): Promise<void>;
}

/** Reads HTTP request headers (Node lower-cases names; a repeated header is an array). */
export const headerGetter: TextMapGetter<Readonly<Record<string, string | string[] | undefined>>> = {
  keys: (h) => Object.keys(h),
  get: (h, key) => h[key.toLowerCase()],
};

/** Writes gRPC metadata; keys are already lower-case in every propagator we use. */
export const metadataSetter: TextMapSetter<Metadata> = {
  set: (md, key, value) => md.set(key.toLowerCase(), value),
};

/**
 * The propagator for `names` (OTEL_PROPAGATORS). Left unset, attache reads every format a client may
 * send (W3C tracecontext and baggage, B3 single and multi) and writes tracecontext, baggage and B3 multi.
 * B3Propagator reads both B3 forms whatever it writes. Order matters on extraction: a later propagator's
 * span context wins, so `traceparent` beats `b3` when a request carries both.
 */
export function propagatorFor(names: TelemetrySettings['propagators']): TextMapPropagator {
  const list = names ?? ['b3multi', 'tracecontext', 'baggage'];
  const propagators: TextMapPropagator[] = [];
  for (const n of list) {
    switch (n) {
      case 'tracecontext':
        propagators.push(new W3CTraceContextPropagator());
        break;
      case 'baggage':
        propagators.push(new W3CBaggagePropagator());
        break;
      case 'b3':
        propagators.push(new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER }));
        break;
      case 'b3multi':
        propagators.push(new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }));
        break;
      case 'none':
        break;
      default: {
        const never: never = n;
        throw new Error(`unknown propagator ${String(never)}`);
      }
    }
  }
  return new CompositePropagator({ propagators });
}

/** The head sampler OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG name (OTel SDK environment spec). */
export function samplerFor(name: TelemetrySettings['sampler'], arg: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(arg);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(arg) });
    default: {
      const never: never = name;
      throw new Error(`unknown sampler ${String(never)}`);
    }
  }
}

/**
 * The OTLP trace exporter for `protocol`. Loaded on demand, so a deployment that exports nothing does not
 * load the exporters. Each reads OTEL_EXPORTER_OTLP_{,TRACES_}ENDPOINT, _HEADERS, _TIMEOUT and
 * _COMPRESSION itself, as the OTel spec defines them.
 */
async function otlpExporter(protocol: TelemetrySettings['otlpProtocol']): Promise<SpanExporter> {
  switch (protocol) {
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
    default: {
      const never: never = protocol;
      throw new Error(`unknown OTLP protocol ${String(never)}`);
    }
  }
}

/** Options that only tests and embedders set. */
export interface TracingOverrides {
  /** Used instead of the exporters OTEL_TRACES_EXPORTER names (an in-memory exporter in tests). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/**
 * Builds the tracing of one attache instance. With no exporter (OTEL_TRACES_EXPORTER unset or `none`) the
 * provider has no span processor: spans still get ids, so propagation carries attache's client span as the
 * upstream's parent and keeps the sampled flag, but nothing is buffered or sent.
 * @throws only on a programming error: the settings were validated by the config loader.
 */
export async function createTracing(settings: TelemetrySettings, version: string, overrides: TracingOverrides = {}): Promise<Tracing> {
  const propagator = propagatorFor(settings.propagators);
  const processors: SpanProcessor[] = [];
  if (overrides.spanProcessors !== undefined) {
    processors.push(...overrides.spanProcessors);
  } else if (!settings.disabled) {
    for (const name of settings.tracesExporter) {
      if (name === 'otlp') processors.push(new BatchSpanProcessor({ exporter: await otlpExporter(settings.otlpTracesProtocol ?? settings.otlpProtocol) }));
      if (name === 'console') processors.push(new BatchSpanProcessor({ exporter: new ConsoleSpanExporter() }));
    }
  }
  const provider = new TracerProvider({
    sampler: settings.disabled ? new AlwaysOffSampler() : samplerFor(settings.sampler, settings.samplerArg),
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName, [ATTR_SERVICE_VERSION]: version }),
    spanProcessors: processors,
  });
  let stopped: Promise<void> | undefined;
  return {
    enabled: !settings.disabled,
    recording: processors.length > 0,
    tracer: provider.getTracer('attache', version),
    propagator,
    forceFlush: () => provider.forceFlush().catch(() => undefined),
    shutdown: () => (stopped ??= provider.shutdown().catch(() => undefined)),
  };
}

/** The trace context a request carries (ROOT_CONTEXT when it carries none, or tracing is off). */
export function extractContext(tracing: Tracing, headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  return tracing.enabled ? tracing.propagator.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
}

/**
 * Replaces the trace headers metadataFromHeaders copied from the request with the ones for `ctx` (the
 * upstream call's client span): the same trace id, attache's span as the parent, tracestate and baggage
 * carried, in the configured formats. With tracing off the copied headers stay as they came.
 */
export function injectContext(tracing: Tracing, ctx: Context, md: Metadata): void {
  if (!tracing.enabled) return;
  for (const key of TRACE_HEADERS) md.remove(key);
  tracing.propagator.inject(ctx, md, metadataSetter);
}
