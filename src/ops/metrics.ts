/**
 * Every attache metric, declared once: name, help, type, labels and buckets (STYLE.md §3.14, "observability
 * as declared data"). Served by the admin listener's `/metrics` in the Prometheus text exposition format.
 *
 * Label values are bounded by configuration, never by traffic: the HttpRule template (never the raw path),
 * the HTTP method of a route, the gRPC method, the upstream target, and the closed sets of HTTP statuses and
 * gRPC code names. A request that matches no route is labelled `route="(unmatched)"`, whatever its path.
 *
 * Each attache instance owns its registry (no prom-client global), so two instances in one process do not
 * share counters. The standard process and Node.js metrics (`process_*`, `nodejs_*`) keep their usual
 * unprefixed names so existing dashboards work; everything attache defines is prefixed `attache_`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The label for requests that matched no route. */
export const UNMATCHED_ROUTE = '(unmatched)';

/** Seconds; from 0.5 ms (a loopback call) to 30 s (past the default 15 s deadline). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

/** Circuit-breaker states as the gauge reports them. */
export const CIRCUIT_STATES = { closed: 0, open: 1, half_open: 2 } as const;
export type CircuitState = keyof typeof CIRCUIT_STATES;

/** One upstream channel's connectivity, as grpc-js names it (IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN). */
export interface ChannelState {
  readonly upstream: string;
  readonly state: string;
  /** The upstream's circuit breaker, when it has one. */
  readonly circuit: CircuitState | undefined;
}

/** grpc-js's ConnectivityState names, so the gauge shows each state (0 or 1), not only the current one. */
const CHANNEL_STATES = ['IDLE', 'CONNECTING', 'READY', 'TRANSIENT_FAILURE', 'SHUTDOWN'] as const;

/** What one finished HTTP request contributes. */
export interface RequestObservation {
  /** The HttpRule template, or UNMATCHED_ROUTE. */
  readonly route: string;
  readonly method: string;
  /** `pkg.Service/Method`, or '' when no route matched. */
  readonly grpcMethod: string;
  readonly status: number;
  /** The gRPC code name of the answer (`OK`, `NOT_FOUND`…): the upstream's, or attache's own. */
  readonly grpcCode: string;
  readonly seconds: number;
}

/** What one finished upstream call contributes. */
export interface UpstreamObservation {
  readonly grpcMethod: string;
  readonly upstream: string;
  readonly grpcCode: string;
  readonly seconds: number;
  /** Attempts grpc-js made (1 without retries). */
  readonly attempts: number;
}

/** The metrics of one attache instance. */
export interface Metrics {
  readonly registry: Registry;
  /** One call per finished HTTP request (the pipeline's end-of-request hook). */
  observeRequest(o: RequestObservation): void;
  /** One call per finished upstream call. */
  observeUpstream(o: UpstreamObservation): void;
  /** A request started (+1) or finished (-1). */
  inFlight(delta: 1 | -1): void;
  /** A configuration reload finished. */
  configReload(ok: boolean): void;
  /** The exposition text and its Content-Type. */
  exposition(): Promise<{ readonly contentType: string; readonly text: string }>;
}

export interface MetricsOptions {
  /** The upstream channels, their connectivity and breaker state, read at scrape time (the breaker moves
   *  from open to half-open lazily, on its next call, so pushing changes would miss that transition). */
  readonly channels: () => Iterable<ChannelState>;
  /** Collect the standard process and Node.js metrics (default true). */
  readonly processMetrics?: boolean;
}

/** Declares every metric in a new registry. */
export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'attache_http_requests_total',
    help: 'HTTP requests answered, by route template, HTTP method, gRPC method, HTTP status and gRPC code.',
    labelNames: ['route', 'method', 'grpc_method', 'status', 'grpc_code'] as const,
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: 'attache_http_request_duration_seconds',
    help: 'Time from the request reaching attache to its answer being handed to the socket, by route template and HTTP method.',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'attache_http_requests_in_flight',
    help: 'HTTP requests being handled.',
    registers: [registry],
  });
  const upstreamSeconds = new Histogram({
    name: 'attache_upstream_call_duration_seconds',
    help: 'Upstream gRPC call time, all attempts and backoff included, by gRPC method, upstream and gRPC code.',
    labelNames: ['grpc_method', 'upstream', 'grpc_code'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'attache_upstream_retry_attempts_total',
    help: 'Upstream attempts beyond the first (grpc-js retries, gRFC A6), by gRPC method and upstream.',
    labelNames: ['grpc_method', 'upstream'] as const,
    registers: [registry],
  });
  const circuit = new Gauge({
    name: 'attache_circuit_breaker_state',
    help: 'Circuit-breaker state per upstream: 0 closed, 1 open, 2 half-open.',
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of opts.channels()) if (c.circuit !== undefined) this.set({ upstream: c.upstream }, CIRCUIT_STATES[c.circuit]);
    },
  });
  void circuit;
  const channels = new Gauge({
    name: 'attache_upstream_channel_state',
    help: 'Upstream channel connectivity (grpc-js ConnectivityState): 1 for the current state, 0 for the others.',
    labelNames: ['upstream', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of opts.channels()) for (const s of CHANNEL_STATES) this.set({ upstream: c.upstream, state: s }, s === c.state ? 1 : 0);
    },
  });
  void channels;
  const reloads = new Counter({
    name: 'attache_config_reloads_total',
    help: 'Configuration reloads, by result (success, failure); a failed reload keeps the previous configuration.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

  return {
    registry,
    observeRequest(o) {
      requests.inc({ route: o.route, method: o.method, grpc_method: o.grpcMethod, status: String(o.status), grpc_code: o.grpcCode });
      requestSeconds.observe({ route: o.route, method: o.method }, o.seconds);
    },
    observeUpstream(o) {
      upstreamSeconds.observe({ grpc_method: o.grpcMethod, upstream: o.upstream, grpc_code: o.grpcCode }, o.seconds);
      if (o.attempts > 1) retries.inc({ grpc_method: o.grpcMethod, upstream: o.upstream }, o.attempts - 1);
    },
    inFlight(delta) {
      inFlight.inc(delta);
    },
    configReload(ok) {
      reloads.inc({ result: ok ? 'success' : 'failure' });
    },
    async exposition() {
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}
