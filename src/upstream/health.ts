/**
 * Readiness from upstream state, per policy (`--readiness`):
 * - `ignore`: upstreams do not affect readiness (the contract's default: a down upstream gets fast 503s from
 *   the breaker and grpc-js, not an unready pod that Kubernetes would take out of every Service);
 * - `channel`: ready once every upstream channel is READY (connected); asking also makes an idle channel
 *   connect, so readiness does not wait for the first request;
 * - `health`: ready once every upstream answers grpc.health.v1.Health/Check with SERVING
 *   (grpc/doc/health-checking.md), polled every `intervalMs` on the upstream's own channel.
 *
 * attache starts whatever the upstreams' state; readiness only reports it.
 */
import protobuf from 'protobufjs';
import { LEN, VARINT, tagOf } from '../codec/wire-types.js';
import { Code, codeName } from '../status/status.js';
import { CallMetadata } from './call-metadata.js';
import type { CallTarget, Upstreams } from './channels.js';
import type { UpstreamPolicy } from './policy.js';

export type ReadinessPolicy = 'ignore' | 'channel' | 'health';

/** Per upstream key, a word for /readyz: a connectivity state or a health status. */
export interface UpstreamReadinessReport {
  readonly ready: boolean;
  readonly upstreams: Readonly<Record<string, string>>;
}

export interface UpstreamReadiness {
  report(): UpstreamReadinessReport;
  /** Stops polling. */
  close(): void;
}

export interface ReadinessOptions {
  readonly policy: ReadinessPolicy;
  readonly intervalMs: number;
  /** HealthCheckRequest.service; "" asks about the server as a whole. */
  readonly service: string;
}

const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

/** A gRPC status code's name (`UNAVAILABLE`), or the number when it is not one of the 17 codes. */
function statusName(code: number): string {
  return Number.isInteger(code) && code >= Code.OK && code <= Code.UNAUTHENTICATED ? codeName(code as Code) : String(code);
}

/** The health check as a call target of upstream `upstream`: safe, no retries or hedging of attache's own. */
function healthTarget(upstream: UpstreamPolicy): CallTarget {
  return { grpcPath: HEALTH_CHECK_PATH, policy: { safe: true, retry: undefined, hedging: undefined, upstream } };
}
/** grpc.health.v1.HealthCheckResponse.ServingStatus. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;
/** The tags of HealthCheckRequest.service and HealthCheckResponse.status (grpc/src/proto/grpc/health/v1/health.proto). */
const REQUEST_SERVICE_TAG = tagOf(1, LEN);
const RESPONSE_STATUS_TAG = tagOf(1, VARINT);

/** HealthCheckRequest {string service = 1}. */
function encodeHealthRequest(service: string): Buffer {
  const w = protobuf.Writer.create();
  if (service !== '') w.uint32(REQUEST_SERVICE_TAG).string(service);
  return Buffer.from(w.finish());
}

/** HealthCheckResponse {ServingStatus status = 1} → the status name; malformed bytes → a word saying so. */
function healthStatusOf(bytes: Buffer): string {
  try {
    const r = protobuf.Reader.create(bytes);
    let status = 0;
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === RESPONSE_STATUS_TAG) status = r.int32();
      else r.skipType(tag & 7);
    }
    return SERVING_STATUS[status] ?? `UNKNOWN(${status})`;
  } catch {
    return 'MALFORMED_RESPONSE';
  }
}


/** Starts tracking readiness of `upstreams` per `o`. */
export function createReadiness(upstreams: Upstreams, o: ReadinessOptions): UpstreamReadiness {
  if (o.policy === 'ignore') return { report: () => ({ ready: true, upstreams: {} }), close: () => undefined };
  if (o.policy === 'channel') {
    for (const u of upstreams.list()) u.connectivity(true);
    return {
      report() {
        const states: Record<string, string> = {};
        let ready = true;
        for (const u of upstreams.list()) {
          const s = u.connectivity(true);
          states[u.key] = s;
          if (s !== 'READY') ready = false;
        }
        return { ready, upstreams: states };
      },
      close: () => undefined,
    };
  }

  const status = new Map<string, string>();
  const pending = new Set<string>();
  const request = encodeHealthRequest(o.service);
  const check = (): void => {
    for (const u of upstreams.list()) {
      if (pending.has(u.key)) continue;
      pending.add(u.key);
      const timeoutMs = Math.min(o.intervalMs, 5000);
      // Through the upstream's own call path (its transport; not its breaker or bulkhead, which count
      // user calls), with no per-method retry policy of attache's own.
      void u.call(healthTarget(u.plan.policy), request, CallMetadata.EMPTY, timeoutMs).done.then((outcome) => {
        pending.delete(u.key);
        const err = outcome.error;
        status.set(u.key, err ? `${statusName(err.code)}: ${err.details}` : healthStatusOf(outcome.response ?? Buffer.alloc(0)));
      });
    }
  };
  check();
  const timer = setInterval(check, o.intervalMs);
  timer.unref();
  return {
    report() {
      const states: Record<string, string> = {};
      let ready = true;
      for (const u of upstreams.list()) {
        const s = status.get(u.key) ?? 'CHECKING';
        states[u.key] = s;
        if (s !== 'SERVING') ready = false;
      }
      return { ready, upstreams: states };
    },
    close: () => clearInterval(timer),
  };
}
