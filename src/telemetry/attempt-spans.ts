/**
 * One span per gRPC call ATTEMPT (gRFC A6 retries and hedges, each a separate stream), the model of gRFC A45
 * and A72: the call's span is the parent, each attempt is a child span, ended with that attempt's status.
 *
 * The hook is an {@link AttemptObserver}: attache's own transport (upstream/h2/attempt.ts) calls it per attempt
 * at pick time; on a grpc-js channel the `attache_attempts` load-balancing policy (upstream/attempt-lb.ts)
 * does, from its picker. Either way it gets each attempt's metadata, into which the request path already wrote the call span's trace context (exchange.ts `startUpstream`). For each attempt this module
 * 1. extracts that context and finds the call it belongs to (registered by `callStarted`, by span id);
 * 2. starts the attempt span, kind CLIENT, as the call span's child: `rpc.system`, `rpc.service`,
 *    `rpc.method`, `server.address`, `rpc.grpc.attempt` (1 + grpc-js's `grpc-previous-rpc-attempts`) and the
 *    picked backend's `network.peer.address`/`network.peer.port`;
 * 3. gives THAT attempt metadata with its own trace headers (the handle's `metadata`), so the upstream's
 *    server span for the attempt is a child of the attempt span (same trace id, one parent span id per attempt);
 * 4. ends the span with `rpc.grpc.status_code` when grpc-js reports the attempt's end.
 *
 * Span kinds: the attempt spans are the CLIENT spans, because they are what crosses the wire: an upstream
 * SERVER span then has a CLIENT parent, the pair trace back-ends use to draw service-graph edges (one edge
 * per attempt, so retries show up as extra calls to the upstream). The call span becomes INTERNAL: it is
 * attache's view of the logical call (total upstream latency, final code, attempt count), not a request
 * anyone receives. A transparent retry (gRFC A6: the stream never reached the server application) is a
 * new stream with the same attempt number, so it shows as a second span with the same `rpc.grpc.attempt`.
 *
 * Cost: only built when spans are recorded (an exporter is configured). With propagation only, or with
 * tracing off, there is no wrapping policy and no per-attempt work: every attempt carries the call span's
 * context, as before. Unsampled calls are not registered, so their attempts are passed through after one
 * extraction. An attempt that ends before its stream starts (cancelled while grpc-js waited for call
 * credentials) gets no end callback from grpc-js; its span is never ended and so never exported.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type TextMapGetter } from '@opentelemetry/api';
import type { CallMetadata } from '../upstream/call-metadata.js';
import { addAttemptObserver } from '../upstream/attempt-observers.js';
import type { AttemptHandle, AttemptObserver } from '../upstream/transport.js';
import type { UpstreamPlan } from '../upstream/service-config.js';
import { Code, codeName } from '../status/status.js';
import { injectContext, type Tracing } from './tracing.js';

/** The attempt-number attribute (attache's name; gRFC A72 records the same fact as `previous-rpc-attempts`). */
export const ATTR_ATTEMPT = 'rpc.grpc.attempt';
const PREVIOUS_ATTEMPTS_KEY = 'grpc-previous-rpc-attempts';

/** Reads gRPC metadata for the propagators (text values only; trace headers are never `-bin`). */
export const metadataGetter: TextMapGetter<CallMetadata> = {
  keys: (md) => md.keys(),
  get: (md, key) => {
    const values = md.getAll(key);
    if (values.length === 0) return undefined;
    const text = values.filter((v): v is string => typeof v === 'string');
    return text.length === 1 ? text[0] : text;
  },
};

/** The attempt spans of one attache instance. */
export interface AttemptSpans {
  /** Sees each attempt of the lean transport's calls (h2/transport.ts calls it at pick time, per attempt). */
  readonly observer: AttemptObserver;
  /** The same plans, their service config wrapping the chosen policy in `attache_attempts` (grpc-js wires). */
  wrapPlans(plans: ReadonlyMap<string, UpstreamPlan>): ReadonlyMap<string, UpstreamPlan>;
  /**
   * The call whose span is `span` may now start attempts: they become children of `ctx` (the context
   * holding `span`), named `name`, with `attributes`. Unsampled spans are ignored.
   */
  callStarted(span: Span, ctx: Context, name: string, attributes: Attributes): void;
  /** The call ended: later attempts (none, in grpc-js) are not traced. Must follow every callStarted. */
  callEnded(span: Span): void;
  /** Unregisters the observer. Idempotent. */
  close(): void;
}

interface CallEntry {
  readonly ctx: Context;
  readonly name: string;
  readonly attributes: Attributes;
}

/** `host:port`, `[v6]:port` → the two parts; anything else (a unix path) is the address alone. */
function peerAttributes(peer: string | undefined): Attributes {
  if (peer === undefined) return {};
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(peer);
  return m === null ? { 'network.peer.address': peer } : { 'network.peer.address': m[1], 'network.peer.port': Number(m[2]) };
}

/**
 * Attempt spans for `tracing`, or undefined when they would cost without showing anywhere: tracing off,
 * no span recorded (propagation only), or no propagator writing headers (OTEL_PROPAGATORS=none: the
 * attempt cannot find its call, and the call span stays the CLIENT span).
 */
export function createAttemptSpans(tracing: Tracing): AttemptSpans | undefined {
  if (!tracing.enabled || !tracing.recording || tracing.propagator.fields().length === 0) return undefined;
  const calls = new Map<string, CallEntry>();
  const observer: AttemptObserver = {
    attempt(md, peer): AttemptHandle | undefined {
      const sc = trace.getSpanContext(tracing.propagator.extract(ROOT_CONTEXT, md, metadataGetter));
      const call = sc === undefined ? undefined : calls.get(sc.spanId);
      if (call === undefined) return undefined;
      const previous = Number.parseInt(String(md.get(PREVIOUS_ATTEMPTS_KEY) ?? '0'), 10);
      const span = tracing.tracer.startSpan(
        call.name,
        { kind: SpanKind.CLIENT, attributes: { ...call.attributes, [ATTR_ATTEMPT]: (Number.isInteger(previous) ? previous : 0) + 1, ...peerAttributes(peer) } },
        call.ctx,
      );
      return {
        metadata: injectContext(tracing, trace.setSpan(call.ctx, span), md),
        ended(code, details) {
          span.setAttribute('rpc.grpc.status_code', code);
          if (code !== Code.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: details || codeName(code as Code) });
          span.end();
        },
      };
    },
  };
  const registration = addAttemptObserver(observer);
  return {
    observer,
    wrapPlans(plans) {
      const out = new Map<string, UpstreamPlan>();
      for (const [key, plan] of plans) {
        const serviceConfig = Object.freeze(registration.wrap(plan.serviceConfig as Record<string, unknown>));
        out.set(key, Object.freeze({ ...plan, serviceConfig, serviceConfigJson: JSON.stringify(serviceConfig) }));
      }
      return out;
    },
    callStarted(span, ctx, name, attributes) {
      if (span.isRecording()) calls.set(span.spanContext().spanId, { ctx, name, attributes });
    },
    callEnded(span) {
      calls.delete(span.spanContext().spanId);
    },
    close: () => registration.close(),
  };
}
