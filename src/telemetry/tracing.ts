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
  context as contextApi,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanOptions,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { CompositePropagator, isTracingSuppressed, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  RandomIdGenerator,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type IdGenerator,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Config } from '../config/load.js';
import type { CallMetadata } from '../upstream/call-metadata.js';
import { TRACE_HEADERS } from '../upstream/headers.js';

/** The telemetry settings (schema.ts `telemetry`). */
export type TelemetrySettings = Config['telemetry'];

/** What the request path needs to trace: a tracer and the propagator, or nothing when tracing is off. */
export interface Tracing {
  /** False when OTEL_SDK_DISABLED: no spans, no extraction; trace headers are forwarded verbatim. */
  readonly enabled: boolean;
  /** True when spans leave the process (an exporter or a test processor is configured). */
  readonly recording: boolean;
  /**
   * Starts the spans. When `recording`, the SDK's tracer; otherwise a {@link PropagationTracer}, whose spans
   * are SpanContexts only (ids and the sampler's decision) and whose `end()` does nothing.
   */
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

/**
 * What a propagator writes for the upstream call: `[key, value, key, value…]`, keys lower-cased, a key set
 * twice keeping its last value (grpc-js `Metadata.set` semantics). {@link injectContext} turns it into the
 * call's metadata in one copy.
 */
export type TraceFields = string[];

/** Writes {@link TraceFields}. */
export const metadataSetter: TextMapSetter<TraceFields> = {
  set: (fields, key, value) => {
    const k = key.toLowerCase();
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i] === k) {
        fields[i + 1] = value;
        return;
      }
    }
    fields.push(k, value);
  },
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

const NO_ATTRIBUTES: Attributes = Object.freeze({});
// Frozen: the Sampler interface types links as a mutable array, but no sampler may change them.
const NO_LINKS = Object.freeze([]) as unknown as Link[];

/**
 * The tracer of propagation only (no exporter, no span processor): each span it starts is just a SpanContext
 * wrapped by `trace.wrapSpanContext` (a non-recording span), because nothing would ever read an SDK Span's
 * name, attributes, times or status — only its ids and sampled flag leave the process, in the trace headers
 * and the access line. It makes the same decisions as the SDK's Tracer.startSpan (sdk-trace Tracer.ts), in
 * the same order:
 * - a suppressed context (core `suppressTracing`) gets the invalid span context;
 * - `root: true` ignores the parent in the context;
 * - a new span id always; the parent's trace id and tracestate when the context holds a valid span context
 *   (extracted from `traceparent` or B3), else a new trace id (W3C Trace Context §3.2: trace id continuity);
 * - the configured sampler decides (parentbased_* follow the parent's sampled flag, traceidratio hashes the
 *   trace id, always_* are constant): RECORD_AND_SAMPLED sets the sampled flag, anything else does not; a
 *   tracestate the sampler returns replaces the parent's.
 * Links and attributes reach the sampler as given (the SDK first drops invalid attribute values; none of
 * the built-in samplers reads either). Never throws unless the sampler or id generator does.
 */
export class PropagationTracer implements Tracer {
  constructor(
    private readonly sampler: Sampler,
    private readonly ids: IdGenerator = new RandomIdGenerator(),
  ) {}

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = contextApi.active()): Span {
    if (options.root === true) ctx = trace.deleteSpan(ctx);
    if (isTracingSuppressed(ctx)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parent = trace.getSpanContext(ctx);
    // Span id first, then trace id: the SDK's order, so a deterministic IdGenerator gives the same ids.
    const spanId = this.ids.generateSpanId();
    const valid = parent !== undefined && trace.isSpanContextValid(parent);
    const traceId = valid ? parent.traceId : this.ids.generateTraceId();
    const r = this.sampler.shouldSample(ctx, traceId, name, options.kind ?? SpanKind.INTERNAL, options.attributes ?? NO_ATTRIBUTES, options.links ?? NO_LINKS);
    return trace.wrapSpanContext({
      traceId,
      spanId,
      traceFlags: r.decision === SamplingDecision.RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE,
      traceState: r.traceState ?? (valid ? parent.traceState : undefined),
    });
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, ctx: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, a: F | SpanOptions, b?: F | Context, c?: F): ReturnType<F> {
    const fn = (c ?? (typeof b === 'function' ? b : a)) as (span: Span) => ReturnType<F>;
    const options = typeof a === 'function' ? {} : a;
    const parent = b !== undefined && typeof b !== 'function' ? b : contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), fn, undefined, span);
  }
}

/** Options that only tests and embedders set. */
export interface TracingOverrides {
  /** Used instead of the exporters OTEL_TRACES_EXPORTER names (an in-memory exporter in tests). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/**
 * Builds the tracing of one attache instance. With no exporter (OTEL_TRACES_EXPORTER unset or `none`) there
 * is no SDK TracerProvider: a {@link PropagationTracer} runs the configured sampler and makes the ids, so
 * propagation carries attache's client span as the upstream's parent and keeps the sampled flag, but no SDK
 * Span object is built and nothing is buffered or sent. With an exporter or test span processors, the SDK
 * TracerProvider starts the spans.
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
  const sampler = settings.disabled ? new AlwaysOffSampler() : samplerFor(settings.sampler, settings.samplerArg);
  if (processors.length === 0) {
    return {
      enabled: !settings.disabled,
      recording: false,
      tracer: new PropagationTracer(sampler),
      propagator,
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }
  const provider = new TracerProvider({
    sampler,
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName, [ATTR_SERVICE_VERSION]: version }),
    spanProcessors: processors,
  });
  let stopped: Promise<void> | undefined;
  return {
    enabled: !settings.disabled,
    recording: true,
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
 * `md` with the trace headers metadataFromHeaders copied from the request replaced by the ones for `ctx`
 * (the upstream call's client span): the same trace id, attache's span as the parent, tracestate and
 * baggage carried, in the configured formats. With tracing off, `md` itself: the copied headers stay as
 * they came. A value grpc-js would refuse is left out (call-metadata.ts `replacing`). Never throws.
 */
export function injectContext(tracing: Tracing, ctx: Context, md: CallMetadata): CallMetadata {
  if (!tracing.enabled) return md;
  const fields: TraceFields = [];
  tracing.propagator.inject(ctx, fields, metadataSetter);
  return md.replacing(TRACE_HEADERS, fields);
}
