/**
 * One span per gRPC attempt: retries and hedges through grpc-js's service config (gRFC A6), seen by
 * the `attache_attempts` load-balancing policy. Real attache instances on loopback in front of the flaky
 * resilience server, which records each attempt's metadata; spans go to an in-memory exporter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experimental, Metadata, status } from '@grpc/grpc-js';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { AttemptPicker, ATTEMPT_LB_NAME, registerAttemptLbPolicy, type AttemptObserver } from '../../src/upstream/attempt-lb.js';
import { addAttemptObserver, type AttemptRegistration } from '../../src/upstream/attempt-observers.js';
import { startAttache, type TestAttache } from '../support/attache.js';
import { RES_PROTOS_DIR, startFlakyServer, type FlakyServer } from '../support/flaky-server.js';
import { request } from '../support/http.js';
import { tempDir, writeMapping } from '../support/resilience.js';

const UNAVAILABLE = 14;
const CANCELLED = 1;
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

let n = 0;
/** A fresh trace id and flaky-server key per test. */
function fresh(label: string): { key: string; traceId: string; traceparent: string } {
  const traceId = `${(++n).toString(16).padStart(8, '0')}${'4bf92f3577b34da6a3ce929d'}`;
  return { key: `${label}-${n}`, traceId, traceparent: `00-${traceId}-00f067aa0ba902b7-01` };
}

function parsed(tp: string | undefined): { traceId: string; parentId: string } {
  const m = TRACEPARENT_RE.exec(tp ?? '');
  if (m === null) throw new Error(`bad traceparent upstream: ${String(tp)}`);
  return { traceId: m[1]!, parentId: m[2]! };
}

const startNs = (s: ReadableSpan): number => s.startTime[0] * 1e9 + s.startTime[1];
const endNs = (s: ReadableSpan): number => s.endTime[0] * 1e9 + s.endTime[1];

/** The request's spans: server, call (INTERNAL), attempts (CLIENT, by start time). */
function spansOf(exporter: InMemorySpanExporter, traceId: string): { server: ReadableSpan; call: ReadableSpan; attempts: ReadableSpan[] } {
  const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const server = spans.find((s) => s.kind === SpanKind.SERVER);
  const call = spans.find((s) => s.kind === SpanKind.INTERNAL);
  if (server === undefined || call === undefined) throw new Error(`missing spans for ${traceId}: ${spans.map((s) => `${s.name}/${s.kind}`).join(', ')}`);
  return { server, call, attempts: spans.filter((s) => s.kind === SpanKind.CLIENT).sort((a, b) => startNs(a) - startNs(b)) };
}

const MAPPING = `attache:
  rules:
    - selector: res.v1.Flaky.Idem
      hedging: { maxAttempts: 3, hedgingDelay: 100ms }
    - selector: "res.v1.*"
      breaker: false
`;

const tmp = tempDir();
let server: FlakyServer;
const started: TestAttache[] = [];

/** attache on the fixture in front of `target`; `exporter` set → spans recorded, else propagation only. */
async function attacheFor(target: string, exporter: InMemorySpanExporter | undefined, env: Record<string, string> = {}): Promise<TestAttache> {
  const a = await startAttache(
    ['--protos', RES_PROTOS_DIR, '--mappings', writeMapping(tmp.dir, MAPPING), '--upstream', target, '--retry-throttle-max-tokens', '1000', '--retry-initial-backoff', '10ms'],
    env,
    exporter === undefined ? {} : { start: { tracing: { spanProcessors: [new SimpleSpanProcessor({ exporter })] } } },
  );
  started.push(a);
  return a;
}

beforeAll(async () => {
  server = await startFlakyServer();
});
afterAll(async () => {
  for (const a of started) await a.stop();
  await server?.close();
  tmp.cleanup();
});

describe('attempt spans (spans recorded)', () => {
  const exporter = new InMemorySpanExporter();
  let attache: TestAttache;
  beforeAll(async () => {
    attache = await attacheFor(server.target, exporter);
  });

  it('the first call on a new channel (its pick queues until a subchannel is READY) has exactly one attempt span', async () => {
    const t = fresh('first');
    const res = await request(`${attache.url}/v1/get/${t.key}`, { headers: { traceparent: t.traceparent } });
    expect(res.status).toBe(200);
    const { call, attempts } = spansOf(exporter, t.traceId);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.attributes).toMatchObject({ 'rpc.grpc.attempt': 1, 'rpc.grpc.status_code': 0 });
    expect(attempts[0]!.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
    expect(parsed(server.metadata(t.key)[0]!['traceparent']).parentId).toBe(attempts[0]!.spanContext().spanId);
  });

  it('fails twice with UNAVAILABLE, then OK: three attempt spans, each the parent the upstream saw for that attempt', async () => {
    const t = fresh('retry');
    const res = await request(`${attache.url}/v1/get/${t.key}?failTimes=2&code=${UNAVAILABLE}`, { headers: { traceparent: t.traceparent } });
    expect(res.status).toBe(200);
    const { server: srv, call, attempts } = spansOf(exporter, t.traceId);

    expect(attempts.map((s) => [s.attributes['rpc.grpc.attempt'], s.attributes['rpc.grpc.status_code']])).toEqual([[1, UNAVAILABLE], [2, UNAVAILABLE], [3, 0]]);
    expect(attempts.map((s) => s.status.code)).toEqual([2, 2, 0]); // ERROR, ERROR, UNSET
    for (const s of attempts) {
      expect(s.name).toBe('res.v1.Flaky/Get');
      expect(s.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'res.v1.Flaky', 'rpc.method': 'Get', 'server.address': server.target, 'network.peer.port': server.port });
      expect(s.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
    }
    // request → server span → call span → attempt spans, one trace
    expect(call.parentSpanContext?.spanId).toBe(srv.spanContext().spanId);
    expect(call.attributes['attache.rpc.attempts']).toBe(3);
    expect(endNs(attempts[0]!)).toBeLessThanOrEqual(startNs(attempts[1]!));

    // The upstream saw each attempt's own span as parent: same trace id, three different parent span ids.
    const seen = server.metadata(t.key);
    expect(seen).toHaveLength(3);
    const ups = seen.map((m) => parsed(m['traceparent']));
    expect(new Set(ups.map((u) => u.traceId))).toEqual(new Set([t.traceId]));
    expect(ups.map((u) => u.parentId)).toEqual(attempts.map((s) => s.spanContext().spanId));
    expect(new Set(ups.map((u) => u.parentId)).size).toBe(3);
    expect(seen.map((m) => m['x-b3-spanid'])).toEqual(attempts.map((s) => s.spanContext().spanId));
    expect(seen.map((m) => m['grpc-previous-rpc-attempts'])).toEqual([undefined, '1', '2']);
  });

  it('a call that is not retried has exactly one attempt span', async () => {
    const t = fresh('once');
    const res = await request(`${attache.url}/v1/get/${t.key}?failTimes=1&code=9`, { headers: { traceparent: t.traceparent } });
    expect(res.status).toBe(400);
    const { attempts } = spansOf(exporter, t.traceId);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.attributes['rpc.grpc.status_code']).toBe(9);
  });

  it('hedging: the hedge runs concurrently with the hung first attempt, which ends CANCELLED', async () => {
    const t = fresh('hedge');
    const res = await request(`${attache.url}/v1/idem/${t.key}`, { method: 'POST', body: { hangTimes: 1 }, headers: { traceparent: t.traceparent } });
    expect(res.status).toBe(200);
    const { call, attempts } = spansOf(exporter, t.traceId);
    expect(attempts.map((s) => [s.attributes['rpc.grpc.attempt'], s.attributes['rpc.grpc.status_code']])).toEqual([[1, CANCELLED], [2, 0]]);
    const [first, hedge] = attempts as [ReadableSpan, ReadableSpan];
    // concurrent: the hedge started ~hedgingDelay after the first attempt, before the first one ended
    expect(startNs(hedge) - startNs(first)).toBeGreaterThanOrEqual(90e6);
    expect(startNs(hedge)).toBeLessThan(endNs(first));
    for (const s of attempts) expect(s.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
    expect(server.metadata(t.key).map((m) => parsed(m['traceparent']).parentId)).toEqual(attempts.map((s) => s.spanContext().spanId));
  });

  it('an unsampled request: no spans, and every attempt carries the unsampled call context', async () => {
    const t = fresh('unsampled');
    const res = await request(`${attache.url}/v1/get/${t.key}?failTimes=1&code=${UNAVAILABLE}`, { headers: { traceparent: t.traceparent.replace(/-01$/, '-00') } });
    expect(res.status).toBe(200);
    expect(exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === t.traceId)).toEqual([]);
    const parents = server.metadata(t.key).map((m) => parsed(m['traceparent']).parentId);
    expect(parents).toHaveLength(2);
    expect(parents[0]).toBe(parents[1]);
  });
});

describe('attempt spans when picks fail (upstream down)', () => {
  it('every attempt that fails its pick (TRANSIENT_FAILURE) is a span with the code grpc-js reports, and no peer', async () => {
    const down = await startFlakyServer();
    const target = down.target;
    await down.close();
    const exporter = new InMemorySpanExporter();
    const a = await attacheFor(target, exporter, { ATTACHE_LOAD_BALANCING: 'pick_first' });
    const t = fresh('down');
    const res = await request(`${a.url}/v1/get/${t.key}`, { headers: { traceparent: t.traceparent, 'x-request-timeout': '5s' } });
    expect(res.status).toBe(503);
    const { call, attempts } = spansOf(exporter, t.traceId);
    expect(attempts.length).toBe(call.attributes['attache.rpc.attempts']);
    expect(attempts).toHaveLength(3); // maxAttempts, each failing its pick
    for (const s of attempts) {
      expect(s.attributes['rpc.grpc.status_code']).toBe(UNAVAILABLE);
      expect(s.attributes['network.peer.address']).toBeUndefined();
    }
  });
});

describe('no attempt spans unless spans are recorded', () => {
  it('propagation only: the upstream still gets traceparent, every attempt with the call span as parent', async () => {
    const a = await attacheFor(server.target, undefined);
    const t = fresh('propagation');
    const res = await request(`${a.url}/v1/get/${t.key}?failTimes=2&code=${UNAVAILABLE}`, { headers: { traceparent: t.traceparent } });
    expect(res.status).toBe(200);
    const ups = server.metadata(t.key).map((m) => parsed(m['traceparent']));
    expect(ups).toHaveLength(3);
    expect(new Set(ups.map((u) => u.traceId))).toEqual(new Set([t.traceId]));
    // one parent for all three attempts: no per-attempt span was made
    expect(new Set(ups.map((u) => u.parentId)).size).toBe(1);
    expect(ups[0]!.parentId).not.toBe('00f067aa0ba902b7');
  });

  it('tracing off (OTEL_SDK_DISABLED): every attempt carries the request\'s traceparent verbatim', async () => {
    const a = await attacheFor(server.target, undefined, { OTEL_SDK_DISABLED: 'true' });
    const t = fresh('off');
    const res = await request(`${a.url}/v1/get/${t.key}?failTimes=1&code=${UNAVAILABLE}`, { headers: { traceparent: t.traceparent } });
    expect(res.status).toBe(200);
    expect(server.metadata(t.key).map((m) => m['traceparent'])).toEqual([t.traceparent, t.traceparent]);
  });
});

describe('AttemptPicker (the picks grpc-js can return)', () => {
  const subchannel = { getAddress: () => '10.0.0.7:50051' } as unknown as experimental.PickResult['subchannel'];
  const picks: Record<string, experimental.PickResult> = {
    complete: { pickResultType: experimental.PickResultType.COMPLETE, subchannel, status: null, onCallStarted: null, onCallEnded: null },
    queue: { pickResultType: experimental.PickResultType.QUEUE, subchannel: null, status: null, onCallStarted: null, onCallEnded: null },
    failure: { pickResultType: experimental.PickResultType.TRANSIENT_FAILURE, subchannel: null, status: { code: status.UNAVAILABLE, details: 'no ready', metadata: new Metadata() }, onCallStarted: null, onCallEnded: null },
    drop: { pickResultType: experimental.PickResultType.DROP, subchannel: null, status: { code: status.OK, details: 'dropped', metadata: new Metadata() }, onCallStarted: null, onCallEnded: null },
  };
  function harness(): { observer: AttemptObserver; log: string[]; picker(name: string): AttemptPicker; close(): void; instance: string; wrap: AttemptRegistration['wrap'] } {
    const log: string[] = [];
    const observer: AttemptObserver = {
      attempt: (md, peer) => {
        log.push(`attempt ${String(md.get('k'))} ${peer ?? '-'}`);
        return { ended: (code, details) => void log.push(`ended ${code} ${details}`) };
      },
    };
    // As a grpc-js wire does before it builds a channel: grpc-js then parses configs that name the policy.
    registerAttemptLbPolicy();
    const reg = addAttemptObserver(observer);
    return { observer, log, picker: (name) => new AttemptPicker({ pick: () => picks[name]! }, reg.instance), close: reg.close, instance: reg.instance, wrap: reg.wrap };
  }
  const args = (waitForReady = false): experimental.PickArgs => {
    const md = new Metadata({ waitForReady });
    md.set('k', 'v');
    return { metadata: md, extraPickInfo: {} };
  };

  it('QUEUE: not an attempt outcome, the observer is not asked', () => {
    const h = harness();
    expect(h.picker('queue').pick(args())).toBe(picks['queue']);
    expect(h.log).toEqual([]);
    h.close();
  });

  it('COMPLETE: asked once with the attempt\'s metadata and peer; ended through onCallEnded', () => {
    const h = harness();
    const ended: number[] = [];
    const r = new AttemptPicker({ pick: () => ({ ...picks['complete']!, onCallEnded: (c) => void ended.push(c) }) }, h.instance).pick(args());
    expect(h.log).toEqual(['attempt v 10.0.0.7:50051']);
    r.onCallEnded!(status.DEADLINE_EXCEEDED, 'late', new Metadata());
    expect(h.log).toEqual(['attempt v 10.0.0.7:50051', 'ended 4 late']);
    expect(ended).toEqual([4]); // the child policy's own callback still runs
    h.close();
  });

  it('COMPLETE: the metadata the observer hands back is what this attempt sends (grpc-js\'s own clone, rewritten)', () => {
    const reg = addAttemptObserver({ attempt: (md) => ({ metadata: md.with('traceparent', 'attempt-tp'), ended: () => undefined }) });
    const a = args(true);
    const r = new AttemptPicker({ pick: () => picks['complete']! }, reg.instance).pick(a);
    expect(r.pickResultType).toBe(experimental.PickResultType.COMPLETE);
    expect(a.metadata.toJSON()).toEqual({ k: ['v'], traceparent: ['attempt-tp'] });
    expect(a.metadata.getOptions().waitForReady).toBe(true);
    reg.close();
  });

  it('TRANSIENT_FAILURE ends the attempt at once; with wait-for-ready it queues instead', () => {
    const h = harness();
    h.picker('failure').pick(args());
    expect(h.log).toEqual(['attempt v -', 'ended 14 no ready']);
    h.picker('failure').pick(args(true));
    expect(h.log).toHaveLength(2);
    h.close();
  });

  it('DROP ends the attempt at once; a data-plane code becomes INTERNAL, as grpc-js reports it (gRFC A54)', () => {
    const h = harness();
    h.picker('drop').pick(args());
    expect(h.log).toEqual(['attempt v -', 'ended 13 dropped']);
    h.close();
  });

  it('after close, picks pass through and the config falls back to the wrapped policy', () => {
    const h = harness();
    const wrapped = h.wrap({ loadBalancingConfig: [{ round_robin: {} }], methodConfig: [] });
    const list = wrapped['loadBalancingConfig'] as object[];
    expect(list).toEqual([{ [ATTEMPT_LB_NAME]: { instance: h.instance, childPolicy: [{ round_robin: {} }] } }, { round_robin: {} }]);
    expect(experimental.selectLbConfigFromList(list as never)?.getLoadBalancerName()).toBe(ATTEMPT_LB_NAME);
    h.close();
    expect(h.picker('complete').pick(args())).toBe(picks['complete']);
    expect(h.log).toEqual([]);
    expect(experimental.selectLbConfigFromList(list as never)?.getLoadBalancerName()).toBe('round_robin');
  });
});
