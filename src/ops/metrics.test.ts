/**
 * The /metrics text of createMetrics must be exactly what the prom-client Counter/Histogram/Gauge
 * declarations it replaced gave for the same traffic: `reference()` below is that declaration, kept as the
 * oracle; the same observations go to both and the texts (and JSON) are compared byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createMetrics, type ChannelState, type Metrics, type RequestObservation, type StreamObservation, type UpstreamObservation } from './metrics.js';
import { seededRandom } from '../../test/support/prng.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

/** The prom-client declaration createMetrics had before series.ts (same names, help, labels, order). */
function reference(processMetrics: boolean) {
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
  const inFlight = new Gauge({ name: 'attache_http_requests_in_flight', help: 'HTTP requests being handled.', registers: [registry] });
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
  const streamMessages = new Counter({
    name: 'attache_stream_messages_total',
    help: 'Messages carried by streaming calls, by route template and direction (in: client to upstream, out: upstream to client).',
    labelNames: ['route', 'direction'] as const,
    registers: [registry],
  });
  new Gauge({ name: 'attache_circuit_breaker_state', help: 'Circuit-breaker state per upstream: 0 closed, 1 open, 2 half-open.', labelNames: ['upstream'], registers: [registry] });
  new Gauge({
    name: 'attache_upstream_channel_state',
    help: 'Upstream channel connectivity (grpc-js ConnectivityState): 1 for the current state, 0 for the others.',
    labelNames: ['upstream', 'state'],
    registers: [registry],
  });
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
  if (processMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    observeRequest(o: RequestObservation) {
      requests.inc({ route: o.route, method: o.method, grpc_method: o.grpcMethod, status: String(o.status), grpc_code: o.grpcCode });
      requestSeconds.observe({ route: o.route, method: o.method }, o.seconds);
    },
    observeUpstream(o: UpstreamObservation) {
      upstreamSeconds.observe({ grpc_method: o.grpcMethod, upstream: o.upstream, grpc_code: o.grpcCode }, o.seconds);
      if (o.attempts > 1) retries.inc({ grpc_method: o.grpcMethod, upstream: o.upstream }, o.attempts - 1);
    },
    observeStream(o: StreamObservation) {
      streamMessages.inc({ route: o.route, direction: 'in' }, o.messagesIn);
      streamMessages.inc({ route: o.route, direction: 'out' }, o.messagesOut);
    },
    inFlight: (d: 1 | -1) => inFlight.inc(d),
    configReload: (ok: boolean) => reloads.inc({ result: ok ? 'success' : 'failure' }),
    credentialRefresh: (upstream: string, ok: boolean) => credentialRefreshes.inc({ upstream, result: ok ? 'success' : 'failure' }),
  };
}

const ROUTES = [
  { route: '/v1/payments/{id}', method: 'GET', grpcMethod: 'payments.v1.Payments/GetPayment' },
  { route: '/v1/payments', method: 'POST', grpcMethod: 'payments.v1.Payments/CreatePayment' },
  // Label values the exposition must escape: backslash, double quote, newline.
  { route: '/v1/odd/{name=a\\b"c\n}', method: 'PATCH', grpcMethod: 'odd.v1.Odd/Do' },
  // Beyond ASCII (the exposition is UTF-8), beyond Latin-1 too.
  { route: '/v1/café/{id}—x', method: 'PUT', grpcMethod: 'odd.v1.Odd/Café' },
  { route: '(unmatched)', method: 'DELETE', grpcMethod: '' },
  { route: '(unmatched)', method: 'GET', grpcMethod: '' },
];
const OUTCOMES: readonly [number, string][] = [
  [200, 'OK'],
  [404, 'NOT_FOUND'],
  [503, 'UNAVAILABLE'],
  [504, 'DEADLINE_EXCEEDED'],
  [413, 'INVALID_ARGUMENT'],
];
const UPSTREAMS = ['127.0.0.1:50051', 'grpcs://payments.internal:443'];
/** Latencies on bucket bounds, between them, under the first and past the last (only in +Inf). */
const SECONDS = [0, 0.0001, 0.0005, 0.0007, 0.001, 0.01, 0.0123456789, 0.3, 1, 14.999, 30, 31, 120];

type Sink = Pick<Metrics, 'observeRequest' | 'observeUpstream' | 'observeStream' | 'inFlight' | 'configReload'>;

function drive(targets: readonly Sink[], n: number, seed: number): void {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  for (let i = 0; i < n; i++) {
    const r = pick(ROUTES);
    const [status, grpcCode] = pick(OUTCOMES);
    const seconds = rnd() < 0.5 ? pick(SECONDS) : rnd() * rnd() * 2;
    const upstream = pick(UPSTREAMS);
    const attempts = rnd() < 0.8 ? 1 : 1 + Math.floor(rnd() * 4);
    for (const t of targets) {
      t.inFlight(1);
      if (r.grpcMethod !== '') t.observeUpstream({ grpcMethod: r.grpcMethod, upstream, grpcCode, seconds: seconds / 2, attempts });
      t.inFlight(-1);
      t.observeRequest({ route: r.route, method: r.method, grpcMethod: r.grpcMethod, status, grpcCode, seconds });
    }
    if (i % 7 === 0 && r.grpcMethod !== '') {
      const messagesIn = Math.floor(rnd() * 3);
      const messagesOut = Math.floor(rnd() * 1000);
      for (const t of targets) t.observeStream({ route: r.route, messagesIn, messagesOut });
    }
    const ok = rnd() < 0.7;
    if (i % 97 === 0) for (const t of targets) t.configReload(ok);
    if (i === n >> 1) for (const t of targets) t.inFlight(1); // one request left in flight
  }
}

describe('createMetrics exposition', () => {
  it.each([
    ['no traffic', 0, 1],
    ['one request', 1, 2],
    ['a few requests', 7, 3],
    ['many requests', 5000, 4],
  ])('is byte for byte the prom-client text (%s)', async (_name, n, seed) => {
    const ref = reference(false);
    const m = createMetrics({ channels: () => [], processMetrics: false });
    drive([ref, m], n, seed);
    const text = (await m.exposition()).body.toString('utf8');
    expect(text).toBe(await ref.registry.metrics());
    expect(await m.registry.getMetricsAsJSON()).toEqual(await ref.registry.getMetricsAsJSON());
  });

  it('matches after a registry reset and more traffic', async () => {
    const ref = reference(false);
    const m = createMetrics({ channels: () => [], processMetrics: false });
    drive([ref, m], 300, 5);
    ref.registry.resetMetrics();
    m.registry.resetMetrics();
    expect(await m.registry.metrics()).toBe(await ref.registry.metrics());
    expect((await m.exposition()).body.toString('utf8')).toBe(await ref.registry.metrics());
    drive([ref, m], 40, 6);
    expect(await m.registry.metrics()).toBe(await ref.registry.metrics());
    expect((await m.exposition()).body.toString('utf8')).toBe(await ref.registry.metrics());
  });

  it('writes what prom-client\'s Registry writes for the same metrics, its own gauges and the defaults in between', async () => {
    // The families write their own text (series.ts expositionText); the Registry formatting them is the oracle.
    const channels: ChannelState[] = [
      { upstream: '127.0.0.1:50051', state: 'READY', circuit: 'closed' },
      { upstream: 'dns:///a\\b"c', state: 'TRANSIENT_FAILURE', circuit: 'open' },
    ];
    const m = createMetrics({ channels: () => channels });
    for (const seed of [8, 9]) {
      drive([m], 2000, seed);
      m.configReload(true);
      m.credentialRefresh('127.0.0.1:50051', false);
      const text = (await m.exposition()).body.toString('utf8');
      expect(text).toContain('attache_upstream_channel_state{upstream="dns:///a\\\\b\\"c",state="TRANSIENT_FAILURE"} 1');
      // Process metrics change between two reads (CPU, memory): compare everything else.
      const steady = (t: string) => t.split('\n').filter((l) => !/^(process_|nodejs_)/.test(l)).join('\n');
      expect(steady(text)).toBe(steady(await m.registry.metrics()));
    }
  });

  it('declares the same metrics, process and Node.js defaults included', async () => {
    const ref = reference(true);
    const m = createMetrics({ channels: () => [] });
    drive([ref, m], 50, 7);
    const heads = (text: string) => text.split('\n').filter((l) => l.startsWith('# '));
    expect(heads((await m.exposition()).body.toString('utf8'))).toEqual(heads(await ref.registry.metrics()));
    expect(m.registry.contentType).toBe(ref.registry.contentType);
  });

  it('shows the heap settings in force as one info series, when given', async () => {
    const heapLines = async (m: Metrics): Promise<string[]> => (await m.exposition()).body.toString('utf8').split('\n').filter((l) => l.includes('attache_heap_settings_info'));
    const limited = createMetrics({
      channels: () => [], processMetrics: false,
      heapSettings: { source: 'memory-limit', semiSpaceMiB: 8, limitBytes: 128 * 1024 * 1024, reason: '', growthPercent: 0 },
    });
    expect((await heapLines(limited)).at(-1)).toBe('attache_heap_settings_info{source="memory-limit",semi_space_mib="8",limit_mib="128",heap_growth_percent="0"} 1');
    const unlimited = createMetrics({ channels: () => [], processMetrics: false, heapSettings: { source: 'held', semiSpaceMiB: 8, limitBytes: undefined, reason: '', growthPercent: 100 } });
    expect((await heapLines(unlimited)).at(-1)).toBe('attache_heap_settings_info{source="held",semi_space_mib="8",limit_mib="",heap_growth_percent="100"} 1');
    const nodeFlags = createMetrics({ channels: () => [], processMetrics: false, heapSettings: { source: 'node-default', semiSpaceMiB: undefined, limitBytes: undefined, reason: '', growthPercent: undefined } });
    expect((await heapLines(nodeFlags)).at(-1)).toBe('attache_heap_settings_info{source="node-default",semi_space_mib="",limit_mib="",heap_growth_percent=""} 1');
    expect(await heapLines(createMetrics({ channels: () => [], processMetrics: false }))).toEqual([]);
  });

  it('keeps one series per label combination that occurred', async () => {
    const m = createMetrics({ channels: () => [], processMetrics: false });
    for (let i = 0; i < 1000; i++) m.observeRequest({ route: '/v1/a', method: 'GET', grpcMethod: 'a.A/Get', status: 200, grpcCode: 'OK', seconds: 0.001 });
    const lines = (await m.exposition()).body.toString('utf8').split('\n');
    expect(lines.filter((l) => l.startsWith('attache_http_requests_total{'))).toEqual([
      'attache_http_requests_total{route="/v1/a",method="GET",grpc_method="a.A/Get",status="200",grpc_code="OK"} 1000',
    ]);
    expect(lines.filter((l) => l.startsWith('attache_http_request_duration_seconds_count'))).toHaveLength(1);
  });
});
