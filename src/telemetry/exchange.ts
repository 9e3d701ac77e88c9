/**
 * The telemetry of one HTTP exchange: the server span, the upstream call's client span and trace headers,
 * and, when the exchange ends, exactly one metrics observation and one access-log line. The request path
 * calls the five functions below in order (begin → routed → startUpstream → endUpstream → end); they read
 * no globals: the tracer, the metrics and the logger come in the {@link Telemetry} the caller passes.
 *
 * Spans (OpenTelemetry semantic conventions, HTTP server and RPC client):
 * - server span `{METHOD} {template}` (just `{METHOD}` when no route matched), kind SERVER, child of the
 *   context the request carried (W3C or B3), with `http.request.method`, `http.route`, `url.path`,
 *   `http.response.status_code`; status ERROR for 5xx answers;
 * - call span `{package.Service}/{Method}`, child of the server span, with `rpc.system`,
 *   `rpc.service`, `rpc.method`, `rpc.grpc.status_code`, `server.address` and `attache.rpc.attempts`;
 *   status ERROR for any code but OK. When spans are recorded it is kind INTERNAL and each attempt gets
 *   its own CLIENT span under it (attempt-spans.ts), which the upstream receives as its parent; otherwise
 *   (propagation only) it is kind CLIENT and its context is what every attempt carries upstream.
 *
 * Attempts: grpc-js runs retries (gRFC A6) inside its RetryingCall, below client interceptors and below
 * `Client.makeUnaryRequest`. The attempt count comes from the `grpc-previous-rpc-attempts` key grpc-js adds
 * to the response headers, or to the trailers when no headers arrived, of a call that was retried
 * (retrying-call.ts `startNewAttempt`); attempts = that + 1. The attempt spans come from a load-balancing
 * policy that sees each attempt (upstream/attempt-lb.ts, telemetry/attempt-spans.ts).
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { CallMetadata } from '../upstream/call-metadata.js';
import { UNMATCHED_ROUTE, type Metrics } from '../ops/metrics.js';
import type { Route } from '../routing/routes.js';
import { Code, codeName } from '../status/status.js';
import type { AttemptSpans } from './attempt-spans.js';
import { accessLogWriter, type AccessLogLine } from './logging.js';
import { extractContext, injectContext, type Tracing } from './tracing.js';

/** The metadata key grpc-js adds to the answer of a retried call (gRFC A6). */
export const PREVIOUS_ATTEMPTS_KEY = 'grpc-previous-rpc-attempts';

/** Attribute names (OpenTelemetry semantic conventions; `attache.*` are attache's own). */
export const ATTR = Object.freeze({
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
  urlPath: 'url.path',
  rpcSystem: 'rpc.system',
  rpcService: 'rpc.service',
  rpcMethod: 'rpc.method',
  rpcGrpcStatus: 'rpc.grpc.status_code',
  serverAddress: 'server.address',
  requestId: 'attache.request_id',
  attempts: 'attache.rpc.attempts',
});

/** Everything telemetry needs, built once per attache instance by main.ts. */
export interface Telemetry {
  readonly tracing: Tracing;
  readonly metrics: Metrics;
  /** Writes the access-log lines (info level). */
  readonly logger: Logger;
  /** Writes one access-log line to `logger`, as `logger.info(line, 'request')` would (logging.ts). */
  readonly accessLog: (line: AccessLogLine) => void;
  /** Per-route label values, computed once per route (template strings, span names). */
  readonly labels: WeakMap<Route, RouteLabels>;
  /** One span per attempt, when spans are recorded (attempt-spans.ts); undefined otherwise. */
  readonly attempts: AttemptSpans | undefined;
}

/** Strings derived from a route once, not per request. */
export interface RouteLabels {
  readonly template: string;
  /** `pkg.Service/Method`. */
  readonly grpcMethod: string;
  readonly service: string;
  readonly method: string;
  readonly upstream: string;
  readonly serverSpanName: string;
}

/** Builds the Telemetry of one instance. */
export function createTelemetry(tracing: Tracing, metrics: Metrics, logger: Logger, attempts?: AttemptSpans): Telemetry {
  return Object.freeze({ tracing, metrics, logger, accessLog: accessLogWriter(logger), labels: new WeakMap<Route, RouteLabels>(), attempts });
}

function labelsOf(t: Telemetry, route: Route): RouteLabels {
  let l = t.labels.get(route);
  if (l === undefined) {
    const grpcMethod = route.grpcPath.slice(1);
    const slash = grpcMethod.indexOf('/');
    const template = route.template.toString();
    l = Object.freeze({
      template,
      grpcMethod,
      service: grpcMethod.slice(0, slash),
      method: grpcMethod.slice(slash + 1),
      upstream: `${route.upstream.tls ? 'grpcs://' : ''}${route.upstream.target}`,
      serverSpanName: `${route.httpMethod} ${template}`,
    });
    t.labels.set(route, l);
  }
  return l;
}

/** The inbound request, as telemetry needs it. */
export interface ExchangeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly requestId: string;
  readonly body: string | undefined;
}

/** One exchange in flight. Fields are filled in as the request path learns them. */
export interface Exchange {
  readonly startNs: bigint;
  readonly method: string;
  readonly path: string;
  readonly requestId: string;
  readonly bytesIn: number;
  /** The server span, or undefined when tracing is off. */
  readonly span: Span | undefined;
  /** The server span's context: the parent of the upstream call. */
  readonly context: Context;
  labels: RouteLabels | undefined;
  attempts: number;
  upstreamSeconds: number | undefined;
}

/** The answer as the end of the exchange sees it. */
export interface ExchangeAnswer {
  readonly status: number;
  readonly body: string;
  /** The gRPC code of the answer (0 for a success). */
  readonly code: number;
  /** Streams: messages each way and the bytes written (the body is not kept). */
  readonly messagesIn?: number | undefined;
  readonly messagesOut?: number | undefined;
  readonly bytesOut?: number | undefined;
}

const secondsSince = (startNs: bigint): number => Number(process.hrtime.bigint() - startNs) / 1e9;

/** Span options when spans are not recorded (propagation only): the kind, no attributes. */
const SERVER_SPAN_UNRECORDED = Object.freeze({ kind: SpanKind.SERVER });
const CLIENT_SPAN_UNRECORDED = Object.freeze({ kind: SpanKind.CLIENT });

/** Starts an exchange: in-flight +1, the trace context extracted, the server span started. Never throws. */
export function beginExchange(t: Telemetry, req: ExchangeRequest): Exchange {
  t.metrics.inFlight(1);
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  let span: Span | undefined;
  let context = ROOT_CONTEXT;
  if (t.tracing.enabled) {
    const parent = extractContext(t.tracing, req.headers);
    // Propagation only (no exporter): the span exists for its ids and the sampler's decision, which reach
    // the upstream and the access line; attributes, names and statuses would be seen by nobody, so they are
    // not built (SERVER_SPAN_UNRECORDED), here and in the four functions below.
    span = t.tracing.tracer.startSpan(
      req.method,
      t.tracing.recording
        ? { kind: SpanKind.SERVER, attributes: { [ATTR.httpMethod]: req.method, [ATTR.urlPath]: path, [ATTR.requestId]: req.requestId } }
        : SERVER_SPAN_UNRECORDED,
      parent,
    );
    context = trace.setSpan(parent, span);
  }
  return {
    startNs: process.hrtime.bigint(),
    method: req.method,
    path,
    requestId: req.requestId,
    bytesIn: req.body === undefined ? 0 : Buffer.byteLength(req.body),
    span,
    context,
    labels: undefined,
    attempts: 0,
    upstreamSeconds: undefined,
  };
}

/** The request matched `route`: names the server span `{METHOD} {template}` and sets `http.route`. */
export function exchangeRouted(t: Telemetry, ex: Exchange, route: Route): void {
  const l = labelsOf(t, route);
  ex.labels = l;
  if (ex.span !== undefined && t.tracing.recording) {
    ex.span.updateName(l.serverSpanName);
    ex.span.setAttribute(ATTR.httpRoute, l.template);
  }
}

/** An upstream call in flight. */
export interface UpstreamCall {
  readonly startNs: bigint;
  readonly span: Span | undefined;
  /** The metadata to call with: the caller's, with this call's trace headers when tracing is on. */
  readonly metadata: CallMetadata;
}

/**
 * Starts the call span of the upstream call; its `metadata` is `md` with the span's trace headers (replacing
 * the ones copied from the request). Call after {@link exchangeRouted}, right before the call starts, and end it
 * with {@link endUpstream} (the attempt spans look calls up until then). Never throws.
 */
export function startUpstream(t: Telemetry, ex: Exchange, md: CallMetadata): UpstreamCall {
  let span: Span | undefined;
  let metadata = md;
  if (t.tracing.enabled && ex.labels !== undefined) {
    const l = ex.labels;
    if (t.tracing.recording) {
      const attributes = { [ATTR.rpcSystem]: 'grpc', [ATTR.rpcService]: l.service, [ATTR.rpcMethod]: l.method, [ATTR.serverAddress]: l.upstream };
      span = t.tracing.tracer.startSpan(l.grpcMethod, { kind: t.attempts === undefined ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes }, ex.context);
      const ctx = trace.setSpan(ex.context, span);
      metadata = injectContext(t.tracing, ctx, md);
      t.attempts?.callStarted(span, ctx, l.grpcMethod, attributes);
    } else {
      // attempts (attempt-spans.ts) exist only when spans are recorded.
      span = t.tracing.tracer.startSpan(l.grpcMethod, CLIENT_SPAN_UNRECORDED, ex.context);
      metadata = injectContext(t.tracing, trace.setSpan(ex.context, span), md);
    }
  }
  return { startNs: process.hrtime.bigint(), span, metadata };
}

/** Attempts grpc-js made, from `grpc-previous-rpc-attempts` in the answer's headers or trailers. */
export function attemptsOf(...mds: readonly (CallMetadata | undefined)[]): number {
  let previous = 0;
  for (const md of mds) {
    const v = md?.get(PREVIOUS_ATTEMPTS_KEY);
    const n = typeof v === 'string' ? Number.parseInt(v, 10) : NaN;
    if (Number.isInteger(n) && n > previous) previous = n;
  }
  return previous + 1;
}

/** What the upstream answered, as endUpstream reads it. */
export interface UpstreamResult {
  readonly code: number;
  readonly details: string | undefined;
  readonly headers: CallMetadata | undefined;
  readonly trailers: CallMetadata | undefined;
}

/** Ends the client span and observes the upstream call. Never throws. */
export function endUpstream(t: Telemetry, ex: Exchange, call: UpstreamCall, r: UpstreamResult): void {
  const seconds = secondsSince(call.startNs);
  const attempts = attemptsOf(r.headers, r.trailers);
  ex.attempts = attempts;
  ex.upstreamSeconds = seconds;
  const l = ex.labels;
  if (l !== undefined) t.metrics.observeUpstream({ grpcMethod: l.grpcMethod, upstream: l.upstream, grpcCode: codeName(r.code as Code), seconds, attempts });
  const span = call.span;
  if (span !== undefined) {
    if (t.tracing.recording) {
      t.attempts?.callEnded(span);
      span.setAttribute(ATTR.rpcGrpcStatus, r.code);
      span.setAttribute(ATTR.attempts, attempts);
      if (r.code !== Code.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: r.details ?? codeName(r.code as Code) });
    }
    span.end();
  }
}

/** Ends the exchange: the server span, in-flight -1, one metrics observation, one access-log line. Never throws. */
export function endExchange(t: Telemetry, ex: Exchange, answer: ExchangeAnswer): void {
  const seconds = secondsSince(ex.startNs);
  const l = ex.labels;
  const grpcCode = codeName(answer.code as Code);
  t.metrics.inFlight(-1);
  t.metrics.observeRequest({
    route: l?.template ?? UNMATCHED_ROUTE,
    method: ex.method,
    grpcMethod: l?.grpcMethod ?? '',
    status: answer.status,
    grpcCode,
    seconds,
  });
  if (answer.messagesIn !== undefined && l !== undefined) {
    t.metrics.observeStream({ route: l.template, messagesIn: answer.messagesIn, messagesOut: answer.messagesOut ?? 0 });
  }
  const sc = ex.span?.spanContext();
  if (ex.span !== undefined) {
    if (t.tracing.recording) {
      ex.span.setAttribute(ATTR.httpStatus, answer.status);
      if (answer.status >= 500) ex.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    ex.span.end();
  }
  if (t.logger.isLevelEnabled('info')) {
    const line: AccessLogLine = {
      reqId: ex.requestId,
      traceId: sc?.traceId,
      spanId: sc?.spanId,
      method: ex.method,
      path: ex.path,
      route: l?.template,
      grpcMethod: l?.grpcMethod,
      status: answer.status,
      grpcCode,
      latencyMs: Math.round(seconds * 1e6) / 1e3,
      attempts: ex.attempts,
      upstreamMs: ex.upstreamSeconds === undefined ? undefined : Math.round(ex.upstreamSeconds * 1e6) / 1e3,
      upstream: l?.upstream,
      bytesIn: ex.bytesIn,
      bytesOut: answer.bytesOut ?? Buffer.byteLength(answer.body),
      messagesIn: answer.messagesIn,
      messagesOut: answer.messagesOut,
    };
    t.accessLog(line);
  }
}

/**
 * Records an answer written outside the request path (a body over the limit, a parser error): one metrics
 * observation and one access-log line, like every other request. Its latency counts from this call.
 */
export function recordAnswer(t: Telemetry, req: ExchangeRequest, answer: ExchangeAnswer): void {
  endExchange(t, beginExchange(t, req), answer);
}
