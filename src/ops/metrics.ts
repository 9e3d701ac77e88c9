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
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { HeapSettings } from './heap-settings.js';
import { CounterFamily, expositionBody, GaugeFamily, HistogramFamily, register, type CounterSeries, type HistogramSeries } from './series.js';

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

/** What one finished stream contributes. */
export interface StreamObservation {
  /** The HttpRule template. */
  readonly route: string;
  /** Request messages sent upstream, and response messages written to the client. */
  readonly messagesIn: number;
  readonly messagesOut: number;
}

/** The metrics of one attache instance. */
export interface Metrics {
  readonly registry: Registry;
  /** One call per finished HTTP request (the pipeline's end-of-request hook). */
  observeRequest(o: RequestObservation): void;
  /** One call per finished upstream call. */
  observeUpstream(o: UpstreamObservation): void;
  /** One call per finished stream (server, client or bidi): its messages each way, by route template. */
  observeStream(o: StreamObservation): void;
  /** A request started (+1) or finished (-1). */
  inFlight(delta: 1 | -1): void;
  /** A configuration reload finished. */
  configReload(ok: boolean): void;
  /** A new upstream credential was taken into use (`ok`), or could not be read or fetched (upstream/credentials.ts). */
  credentialRefresh(upstream: string, ok: boolean): void;
  /** The exposition text and its Content-Type. */
  exposition(): Promise<{ readonly contentType: string; readonly body: Buffer }>;
}

export interface MetricsOptions {
  /** The upstream channels, their connectivity and breaker state, read at scrape time (the breaker moves
   *  from open to half-open lazily, on its next call, so pushing changes would miss that transition). */
  readonly channels: () => Iterable<ChannelState>;
  /** Collect the standard process and Node.js metrics (default true). */
  readonly processMetrics?: boolean;
  /** The heap settings in force, exposed as `attache_heap_settings_info`; none when not given. */
  readonly heapSettings?: HeapSettings;
}

// The series of a route or gRPC method are found by a scan of small arrays, not through a Map per label: a
// route sees one method and a handful of outcomes (usually one), and a Map of a few entries costs ~200 bytes
// of heap. With a Map per label, the request and upstream nodes were ~1.3 MiB of attache's heap after one
// request on each of the 1,218 routes of bench/realworld's 25-package set.

/** The request series of one (route, method): its duration histogram and its counters by outcome. */
interface RequestNode {
  readonly method: string;
  readonly seconds: HistogramSeries;
  outcomes: readonly RequestOutcome[];
}

/** The request counter of one outcome of a (route, method). */
interface RequestOutcome {
  readonly grpcMethod: string;
  readonly status: number;
  readonly grpcCode: string;
  readonly counter: CounterSeries;
}

/** The upstream series of one (gRPC method, upstream): its retry counter and its duration histograms by code. */
interface UpstreamNode {
  readonly upstream: string;
  readonly retries: CounterSeries;
  byCode: readonly { readonly grpcCode: string; readonly seconds: HistogramSeries }[];
}

/**
 * Declares every metric in a new registry.
 *
 * The per-request metrics (requests, their durations, upstream call durations and retries) are series.ts
 * families: an observation finds its series through a map keyed by the route template (or gRPC method) and
 * short arrays scanned by the other label values as they come (the route template, method and upstream
 * strings are the same string objects every time, so hashes and comparisons are cheap), creates it on first
 * use, and adds plain numbers; prom-client's Registry reads them at
 * scrape time. Memory is one series per label combination that occurred: routes and upstreams are bounded
 * by configuration, HTTP statuses and gRPC codes are closed sets. The exposition is what prom-client's
 * Counter/Histogram gave for the same traffic (src/ops/metrics.test.ts compares them).
 */
export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  // Registration order is exposition order: keep it.
  const requests = new CounterFamily(
    'attache_http_requests_total',
    'HTTP requests answered, by route template, HTTP method, gRPC method, HTTP status and gRPC code.',
  );
  register(registry, requests);
  const requestSeconds = new HistogramFamily(
    'attache_http_request_duration_seconds',
    'Time from the request reaching attache to its answer being handed to the socket, by route template and HTTP method.',
    LATENCY_BUCKETS,
  );
  register(registry, requestSeconds);
  const inFlight = new GaugeFamily('attache_http_requests_in_flight', 'HTTP requests being handled.');
  register(registry, inFlight);
  const upstreamSeconds = new HistogramFamily(
    'attache_upstream_call_duration_seconds',
    'Upstream gRPC call time, all attempts and backoff included, by gRPC method, upstream and gRPC code.',
    LATENCY_BUCKETS,
  );
  register(registry, upstreamSeconds);
  const retries = new CounterFamily(
    'attache_upstream_retry_attempts_total',
    'Upstream attempts beyond the first (grpc-js retries, gRFC A6), by gRPC method and upstream.',
  );
  register(registry, retries);
  const streamMessages = new CounterFamily(
    'attache_stream_messages_total',
    'Messages carried by streaming calls, by route template and direction (in: client to upstream, out: upstream to client).',
  );
  register(registry, streamMessages);
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
  const credentialRefreshes = new Counter({
    name: 'attache_upstream_credential_refreshes_total',
    help: 'Upstream credentials taken into use (a token file that changed, a token fetched from a token endpoint) or that could not be, by upstream and result (success, failure); calls without a valid token fail with 503.',
    labelNames: ['upstream', 'result'] as const,
    registers: [registry],
  });
  if (opts.heapSettings !== undefined) {
    const { source, semiSpaceMiB, limitBytes, growthPercent } = opts.heapSettings;
    new Gauge({
      name: 'attache_heap_settings_info',
      help: "The heap sizing in force (1): source memory-limit (attache chose the young generation from the memory limit), held (no limit: attache holds the young generation at semi_space_mib at run time), node-flag, node-default, opted-out (--heap-tuning off) or not-possible; semi_space_mib empty when V8 chose; limit_mib the memory limit seen, empty when none; heap_growth_percent the old generation's growth between full collections (--heap-growth; 0: V8's own factor, empty: given to node).",
      labelNames: ['source', 'semi_space_mib', 'limit_mib', 'heap_growth_percent'] as const,
      registers: [registry],
    }).set({
      source,
      semi_space_mib: semiSpaceMiB === undefined ? '' : String(semiSpaceMiB),
      limit_mib: limitBytes === undefined ? '' : String(Math.round(limitBytes / 1048576)),
      heap_growth_percent: growthPercent === undefined ? '' : String(growthPercent),
    }, 1);
  }
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

  /** route → its nodes, one per method. */
  const requestNodes = new Map<string, readonly RequestNode[]>();
  /** route → its stream message counters. */
  const streamNodes = new Map<string, { readonly in: CounterSeries; readonly out: CounterSeries }>();
  /** gRPC method → its nodes, one per upstream. */
  const upstreamNodes = new Map<string, readonly UpstreamNode[]>();

  return {
    registry,
    observeRequest(o) {
      // Plain lookups and loops, no closures: this runs once per request.
      // Arrays are made by literals and grown by spreading, not push: a pushed array keeps spare capacity.
      const nodes = requestNodes.get(o.route);
      let node: RequestNode | undefined;
      if (nodes !== undefined) {
        for (let i = 0; i < nodes.length; i++) {
          if (nodes[i]!.method === o.method) {
            node = nodes[i]!;
            break;
          }
        }
      }
      if (node === undefined) {
        node = { method: o.method, seconds: requestSeconds.series({ route: o.route, method: o.method }), outcomes: [] };
        requestNodes.set(o.route, nodes === undefined ? [node] : [...nodes, node]);
      }
      const outcomes = node.outcomes;
      let counter: CounterSeries | undefined;
      for (let i = 0; i < outcomes.length; i++) {
        const c = outcomes[i]!;
        if (c.status === o.status && c.grpcCode === o.grpcCode && c.grpcMethod === o.grpcMethod) {
          counter = c.counter;
          break;
        }
      }
      if (counter === undefined) {
        // Label order is the exposition's: route, method, grpc_method, status, grpc_code.
        counter = requests.series({ route: o.route, method: o.method, grpc_method: o.grpcMethod, status: String(o.status), grpc_code: o.grpcCode });
        node.outcomes = [...outcomes, { grpcMethod: o.grpcMethod, status: o.status, grpcCode: o.grpcCode, counter }];
      }
      counter.inc(1);
      node.seconds.observe(o.seconds);
    },
    observeUpstream(o) {
      const nodes = upstreamNodes.get(o.grpcMethod);
      let node: UpstreamNode | undefined;
      if (nodes !== undefined) {
        for (let i = 0; i < nodes.length; i++) {
          if (nodes[i]!.upstream === o.upstream) {
            node = nodes[i]!;
            break;
          }
        }
      }
      if (node === undefined) {
        node = { upstream: o.upstream, retries: retries.series({ grpc_method: o.grpcMethod, upstream: o.upstream }), byCode: [] };
        upstreamNodes.set(o.grpcMethod, nodes === undefined ? [node] : [...nodes, node]);
      }
      const byCode = node.byCode;
      let seconds: HistogramSeries | undefined;
      for (let i = 0; i < byCode.length; i++) {
        if (byCode[i]!.grpcCode === o.grpcCode) {
          seconds = byCode[i]!.seconds;
          break;
        }
      }
      if (seconds === undefined) {
        seconds = upstreamSeconds.series({ grpc_method: o.grpcMethod, upstream: o.upstream, grpc_code: o.grpcCode });
        node.byCode = [...byCode, { grpcCode: o.grpcCode, seconds }];
      }
      seconds.observe(o.seconds);
      // A call without retries adds no retry series (as before: the counter appears with the first retry).
      if (o.attempts > 1) node.retries.inc(o.attempts - 1);
    },
    observeStream(o) {
      let node = streamNodes.get(o.route);
      if (node === undefined) {
        node = { in: streamMessages.series({ route: o.route, direction: 'in' }), out: streamMessages.series({ route: o.route, direction: 'out' }) };
        streamNodes.set(o.route, node);
      }
      node.in.inc(o.messagesIn);
      node.out.inc(o.messagesOut);
    },
    inFlight(delta) {
      inFlight.inc(delta);
    },
    configReload(ok) {
      reloads.inc({ result: ok ? 'success' : 'failure' });
    },
    credentialRefresh(upstream, ok) {
      credentialRefreshes.inc({ upstream, result: ok ? 'success' : 'failure' });
    },
    async exposition() {
      return { contentType: registry.contentType, body: await expositionBody(registry) };
    },
  };
}
