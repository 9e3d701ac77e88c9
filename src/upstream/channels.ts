/**
 * One grpc-js channel per upstream (target + TLS), shared by every route that calls it, with that
 * upstream's guard (breaker and bulkhead) and, for grpcs://, credentials that follow their files.
 *
 * grpc-js does retries, hedging, keepalive, reconnection and load balancing itself; the channel is given:
 * - the service config built at load time (service-config.ts: per-method retry/hedging, retry throttling,
 *   the load-balancing policy), with DNS TXT service config turned off so only ours applies;
 * - keepalive per gRFC A8 (time, timeout, permit without calls). grpc-js honours a server's GOAWAY
 *   `too_many_pings` by doubling its keepalive time (subchannel.ts), the back-off A8 asks clients for;
 * - message size limits, reconnect backoff (gRPC connection-backoff.md), and the pass-through options;
 * - its own subchannel pool, so its connections are its own and close with it.
 *
 * Certificate rotation builds a new channel for new calls; the old one closes once its calls have finished.
 */
import * as grpc from '@grpc/grpc-js';
import { Code } from '../status/status.js';
import { callWithPerTryTimeout } from './attempts.js';
import { callUnary, type RunningCall, type UnaryOutcome } from './call.js';
import { createGuard, type Guard } from './guard.js';
import type { MethodPolicy, OutboundSettings } from './policy.js';
import type { UpstreamPlan } from './service-config.js';
import { watchTls, type TlsSource } from './tls.js';
import type { Connectivity } from './transport.js';

/** What a call needs from its route. */
export interface CallTarget {
  /** `/pkg.Service/Method`. */
  readonly grpcPath: string;
  readonly policy: MethodPolicy;
}

/** One upstream: its channel, guard and policy. */
export interface Upstream {
  readonly key: string;
  readonly plan: UpstreamPlan;
  readonly guard: Guard;
  /** Starts a unary call on the current channel. Never throws: a closed channel gives an UNAVAILABLE outcome. */
  call(route: CallTarget, request: Uint8Array, metadata: grpc.Metadata, timeoutMs: number): RunningCall;
  /** The current channel's state; `connect` asks an idle channel to connect. */
  connectivity(connect: boolean): Connectivity;
}

/** The upstreams of one snapshot. */
export interface Upstreams {
  /** The upstream for `Route.policy.upstream.key`; undefined only for a key the snapshot does not know. */
  get(key: string): Upstream | undefined;
  list(): readonly Upstream[];
  /** Each channel's connectivity state (grpc-js ConnectivityState name), read without connecting; for /metrics. */
  states(): Array<{ readonly upstream: string; readonly state: string; readonly circuit: 'closed' | 'open' | 'half_open' | undefined }>;
  /** Stops certificate watching and closes every channel; calls still running fail with CANCELLED/UNAVAILABLE. */
  close(): void;
}

/** Breaker states as the metrics name them; undefined when the upstream has no breaker. */
const CIRCUIT_NAMES = { closed: 'closed', open: 'open', halfOpen: 'half_open' } as const;

/** Channel options from the settings and the plan. */
export function channelOptions(plan: UpstreamPlan, s: OutboundSettings): grpc.ChannelOptions {
  const serverName = plan.policy.tls?.serverName;
  return {
    'grpc.service_config': plan.serviceConfigJson,
    'grpc.service_config_disable_resolution': 1,
    // channelz keeps per-call bookkeeping we do not expose; it costs CPU on every call.
    'grpc.enable_channelz': 0,
    'grpc.use_local_subchannel_pool': 1,
    'grpc.keepalive_time_ms': s.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': s.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': s.keepalivePermitWithoutCalls ? 1 : 0,
    'grpc.max_send_message_length': s.maxSendBytes,
    'grpc.max_receive_message_length': s.maxReceiveBytes,
    'grpc.initial_reconnect_backoff_ms': s.reconnectInitialBackoffMs,
    'grpc.max_reconnect_backoff_ms': s.reconnectMaxBackoffMs,
    ...(serverName !== undefined ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {}),
    ...s.channelOptions,
  };
}

/** A channel and the calls still running on it. */
interface Generation {
  readonly client: grpc.Client;
  inflight: number;
  retired: boolean;
}

function failedCall(message: string): RunningCall {
  const error = Object.assign(new Error(message), { code: Code.UNAVAILABLE, details: message, metadata: new grpc.Metadata() }) as grpc.ServiceError;
  const outcome: UnaryOutcome = { response: undefined, error, headers: undefined, trailers: undefined };
  return { cancel: () => undefined, done: Promise.resolve(outcome) };
}

/** Observers of channel events (the composition root passes its logger). */
export interface UpstreamEvents {
  tlsRotated?(key: string): void;
  tlsError?(key: string, err: unknown): void;
}

/**
 * Creates a channel per plan. Channels connect on their first call, or when readiness asks.
 * @throws Error when a grpcs:// upstream's certificate files cannot be read (they were checked at load time)
 */
export function createUpstreams(plans: ReadonlyMap<string, UpstreamPlan>, s: OutboundSettings, events: UpstreamEvents = {}): Upstreams {
  const all: (Upstream & { close(): void })[] = [];
  const byKey = new Map<string, Upstream & { close(): void }>();
  for (const [key, plan] of plans) {
    const options = channelOptions(plan, s);
    const target = plan.policy.target;
    let tls: TlsSource | undefined;
    let current: Generation;
    const retire = (g: Generation): void => {
      g.retired = true;
      if (g.inflight === 0) g.client.close();
    };
    if (plan.policy.tls !== undefined) {
      tls = watchTls(
        plan.policy.tls,
        s.tlsReloadMs,
        (creds) => {
          const old = current;
          current = { client: new grpc.Client(target, creds, options), inflight: 0, retired: false };
          retire(old);
          events.tlsRotated?.(key);
        },
        (err) => events.tlsError?.(key, err),
      );
    }
    current = { client: new grpc.Client(target, tls?.credentials ?? grpc.credentials.createInsecure(), options), inflight: 0, retired: false };
    const guard = createGuard(plan.policy);

    const up: Upstream & { close(): void } = {
      key,
      plan,
      guard,
      call(route, request, metadata, timeoutMs) {
        const g = current;
        let running: RunningCall;
        try {
          const retry = route.policy.retry;
          running =
            retry?.perTryTimeoutMs !== undefined
              ? callWithPerTryTimeout((ms) => callUnary(g.client, route.grpcPath, request, metadata, ms), { ...retry, perTryTimeoutMs: retry.perTryTimeoutMs }, timeoutMs)
              : callUnary(g.client, route.grpcPath, request, metadata, timeoutMs);
        } catch (err) {
          return failedCall(`the channel to ${key} is closed: ${err instanceof Error ? err.message : String(err)}`);
        }
        g.inflight++;
        void running.done.then(() => {
          if (--g.inflight === 0 && g.retired) g.client.close();
        });
        return running;
      },
      connectivity: (connect) => grpc.connectivityState[current.client.getChannel().getConnectivityState(connect)] as Connectivity,
      close() {
        tls?.close();
        current.client.close();
      },
    };
    all.push(up);
    byKey.set(key, up);
  }
  return {
    get: (key) => byKey.get(key),
    list: () => all,
    // Labelled like the request metrics' `upstream` (the target, `grpcs://` only for TLS), so they join.
    states: () =>
      all.map((u) => ({
        upstream: u.plan.policy.tls !== undefined ? `grpcs://${u.plan.policy.target}` : u.plan.policy.target,
        state: u.connectivity(false),
        circuit: u.plan.policy.breaker === undefined ? undefined : CIRCUIT_NAMES[u.guard.breakerState()],
      })),
    close() {
      for (const u of all) u.close();
    },
  };
}
