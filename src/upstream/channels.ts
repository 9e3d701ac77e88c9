/**
 * The upstreams of one snapshot: per upstream (target + TLS), shared by every route that calls it, its
 * guard (breaker and bulkhead), its credential (credentials.ts: attached once per call, above the wire's
 * retries, so every attempt carries the same one) and its wire — attache's lean HTTP/2 transport with its own retry and
 * hedging driver (lean-wire.ts), or a grpc-js channel (grpcjs-wire.ts). Which wire an upstream gets is
 * decided once, here (see {@link wireKindOf}); everything above sees the same `Upstream` either way.
 */
import type { AttemptObserver } from './attempt-lb.js';
import type { RunningCall } from './call.js';
import { callWithCredentials, createCredentialSource, streamWithCredentials, type CredentialSource } from './credentials.js';
import { createLeanWire, leanTargetOf } from './lean-wire.js';
import { createGuard, type Guard } from './guard.js';
import type { CallMetadata } from './call-metadata.js';
import type { MethodPolicy, OutboundSettings } from './policy.js';
import type { UpstreamPlan } from './service-config.js';
import type { MessageCall, MessageListener } from './stream-call.js';
import type { Connectivity } from './transport.js';

/** What a call needs from its route. */
export interface CallTarget {
  /** `/pkg.Service/Method`. */
  readonly grpcPath: string;
  readonly policy: MethodPolicy;
}

/** How one upstream's calls are carried (one implementation per client library). */
export interface Wire {
  /** Starts a unary call. Never throws: a closed wire gives an UNAVAILABLE outcome. */
  call(route: CallTarget, request: Uint8Array, metadata: CallMetadata, timeoutMs: number): RunningCall;
  /**
   * Opens a streaming call (server, client or bidi: stream-call.ts); `timeoutMs` bounds the whole stream.
   * Never throws: a closed wire ends it with UNAVAILABLE.
   */
  stream(route: CallTarget, metadata: CallMetadata, timeoutMs: number, listener: MessageListener): MessageCall;
  /** The connections' state; `connect` asks an idle wire to connect. */
  connectivity(connect: boolean): Connectivity;
  /** Stops certificate watching and closes the connections; calls still running fail. */
  close(): void;
}

/** One upstream: its wire, guard and policy. */
export interface Upstream extends Omit<Wire, 'close'> {
  readonly key: string;
  readonly plan: UpstreamPlan;
  readonly guard: Guard;
  /**
   * Everything its wire and guard were built from (target, TLS, breaker, bulkhead, service config, the
   * global outbound settings). A reload carries the upstream over, connections and breaker state included,
   * when its key and fingerprint are unchanged.
   */
  readonly fingerprint: string;
}

/** The upstreams of one snapshot. */
export interface Upstreams {
  /** The upstream for `Route.policy.upstream.key`; undefined only for a key the snapshot does not know. */
  get(key: string): Upstream | undefined;
  list(): readonly Upstream[];
  /** Each wire's connectivity state, read without connecting; for /metrics. */
  states(): Array<{ readonly upstream: string; readonly state: string; readonly circuit: 'closed' | 'open' | 'half_open' | undefined }>;
  /** Stops certificate watching and closes every wire; calls still running fail with CANCELLED/UNAVAILABLE. */
  close(): void;
  /** Closes the wires of the upstreams not in `keep` (those a newer set carried over stay open). */
  closeExcept(keep: ReadonlySet<Upstream>): void;
}

/** Breaker states as the metrics name them; undefined when the upstream has no breaker. */
const CIRCUIT_NAMES = { closed: 'closed', open: 'open', halfOpen: 'half_open' } as const;

/** Observers of wire events (the composition root passes its logger). */
export interface UpstreamEvents {
  tlsRotated?(key: string): void;
  tlsError?(key: string, err: unknown): void;
  /** A new upstream credential is in use (`source` names it; never the secret). */
  credentialsChanged?(key: string, source: string, expiresInS: number | undefined): void;
  /** An upstream credential could not be read or fetched; `message` names the source, never the secret. */
  credentialsFailed?(key: string, source: string, message: string): void;
}

/** What the wires need besides the plans and settings. */
export interface UpstreamOptions {
  readonly events?: UpstreamEvents;
  /** Sees each attempt of lean-wire calls (per-attempt spans); grpc-js wires see them through their plans. */
  readonly observer?: AttemptObserver | undefined;
  /**
   * The environment: the proxy variables that send an upstream to grpc-js, and the variables credentials
   * name for their client secrets (default: none set).
   */
  readonly env?: NodeJS.ProcessEnv;
  /** `user-agent` of the lean wire's calls. */
  readonly userAgent?: string;
  /**
   * The upstreams of the snapshot being replaced (on reload): each one whose key and fingerprint are
   * unchanged is reused as it is instead of being created again. The caller then retires the previous set
   * with `previous.closeExcept(new set)`, so a reused upstream is closed only by the set that owns it last.
   */
  readonly carryOver?: Upstreams;
}

/**
 * What an upstream's wire and guard are built from; equal text means an equivalent upstream. A grpc-js
 * channel is built with its service config (which lists the methods it applies to), so a change of the
 * methods behind an upstream needs a new channel; the lean wire takes each call's policy from its route.
 */
function fingerprintOf(plan: UpstreamPlan, s: OutboundSettings, lean: boolean): string {
  return JSON.stringify([lean ? 'lean' : 'grpc-js', plan.policy, lean ? null : plan.serviceConfigJson, s]);
}

/**
 * Creates every upstream's wire. Wires connect on their first call, or when readiness asks. grpc-js (and
 * node:http2 with it) is loaded here, on the first upstream that needs a grpc-js wire: a process whose
 * upstreams all use the lean transport never loads it (~30 ms of CPU and ~1.5 MiB of every start,
 * bench/RESULTS.md §20).
 * @throws Error when a grpcs:// upstream's certificate files, or a token file, cannot be read (they were
 *   checked at load time)
 */
export async function createUpstreams(plans: ReadonlyMap<string, UpstreamPlan>, s: OutboundSettings, o: UpstreamOptions = {}): Promise<Upstreams> {
  const grpcJs = [...plans.values()].some((plan) => leanTargetOf(plan, s, o.env ?? {}) === undefined) ? await import('./grpcjs-wire.js') : undefined;
  const all: (Upstream & { close(): void })[] = [];
  const byKey = new Map<string, Upstream & { close(): void }>();
  const events = o.events ?? {};
  for (const [key, plan] of plans) {
    const lean = leanTargetOf(plan, s, o.env ?? {});
    const fingerprint = fingerprintOf(plan, s, lean !== undefined);
    const previous = o.carryOver?.get(key);
    if (previous !== undefined && previous.fingerprint === fingerprint) {
      // The previous set's object, with its close(): only the set that owns it last closes it.
      const kept = previous as Upstream & { close(): void };
      all.push(kept);
      byKey.set(key, kept);
      continue;
    }
    const wire = lean !== undefined ? createLeanWire(key, plan, lean, s, events, o.observer, o.userAgent) : grpcJs!.createGrpcJsWire(key, plan, s, events);
    const credentials = plan.policy.credentials;
    let source: CredentialSource | undefined;
    try {
      source =
        credentials === undefined
          ? undefined
          : createCredentialSource(credentials, o.env ?? {}, {
              changed: (src, expiresInS) => events.credentialsChanged?.(key, src, expiresInS),
              failed: (src, message) => events.credentialsFailed?.(key, src, message),
            });
    } catch (err) {
      wire.close();
      // Only what this call created: upstreams carried over still belong to the previous set.
      for (const u of all) if (o.carryOver?.get(u.key) !== u) u.close();
      throw err;
    }
    const up: Upstream & { close(): void } = {
      key,
      plan,
      guard: createGuard(plan.policy, wire.connectivity),
      fingerprint,
      call: source === undefined ? wire.call : callWithCredentials(wire.call, source, credentials!.callerAuthorization),
      stream: source === undefined ? wire.stream : streamWithCredentials(wire.stream, source, credentials!.callerAuthorization),
      connectivity: wire.connectivity,
      close() {
        source?.close();
        wire.close();
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
    closeExcept(keep) {
      for (const u of all) if (!keep.has(u)) u.close();
    },
  };
}
