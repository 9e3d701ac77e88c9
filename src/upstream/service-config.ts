/**
 * The grpc-js service config of each upstream channel (gRFC A2 service config, gRFC A6 retries and hedging,
 * load balancing), built and validated at load time so `--check` reports mistakes before a channel exists.
 *
 * One channel per upstream is shared by every route that calls it, and grpc-js keys method config by gRPC
 * service and method name, so each method's retry or hedging policy becomes a `methodConfig` entry naming it
 * (methods with the same policy share one entry). The catch-all `name: [{}]` entry carries the global
 * default for any method not listed. `retryThrottling` is per channel (gRFC A6 "Throttling Retry Attempts
 * and Hedged RPCs"): each failed attempt takes a token, each success returns `tokenRatio`, and retries and
 * hedges stop while fewer than half the tokens are left, so a dead upstream cannot cause a retry storm.
 *
 * Pure; the only non-local import is grpc-js's own validator, run on the finished JSON as a last check
 * that grpc-js will accept what we hand it.
 */
import { validateServiceConfig } from '@grpc/grpc-js/build/src/service-config.js';
import type { BreakerPolicy, BulkheadPolicy, CredentialsPolicy, HedgingPolicy, MethodPolicy, OutboundSettings, RetryPolicy, UpstreamPolicy } from './policy.js';

/** What the builder needs from a route. */
export interface PolicyRoute {
  readonly selector: string;
  /** `/pkg.Service/Method`. */
  readonly grpcPath: string;
  readonly policy: MethodPolicy;
  /** `file:line` of the HttpRule. */
  readonly source: string;
}

/** One upstream channel's plan: its policy and the service config JSON its channel gets. */
export interface UpstreamPlan {
  readonly policy: UpstreamPolicy;
  /** The service config object (frozen) and its JSON text (the `grpc.service_config` channel option). */
  readonly serviceConfig: unknown;
  readonly serviceConfigJson: string;
  /** Selectors of the routes using this upstream (for messages). */
  readonly selectors: readonly string[];
}

/** A problem found while planning; snapshot.ts reports it like any other load problem. */
export interface PlanProblem {
  readonly code: 'ATTACHE_E_POLICY' | 'ATTACHE_E_UPSTREAM_CONFLICT' | 'ATTACHE_E_SERVICE_CONFIG';
  readonly source: string;
  readonly rule: string | undefined;
  readonly message: string;
}

/** gRFC A6: "maxAttempts … values greater than 5 are treated as 5" — we refuse them rather than cap silently. */
export const MAX_ATTEMPTS_LIMIT = 5;

/** A duration in the proto3 JSON form gRFC A6 uses: `0.1s`. */
export function durationText(ms: number): string {
  return `${ms / 1000}s`;
}

/** The gRFC A6 problems of a retry policy, as grpc-js words them (service-config.ts validateRetryPolicy). */
export function retryPolicyProblems(p: RetryPolicy): string[] {
  const out: string[] = [];
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 2 || p.maxAttempts > MAX_ATTEMPTS_LIMIT) out.push(`retry.maxAttempts must be an integer from 2 to ${MAX_ATTEMPTS_LIMIT} (1 turns retries off), got ${p.maxAttempts}`);
  if (!(p.initialBackoffMs > 0)) out.push(`retry.initialBackoff must be greater than 0, got ${p.initialBackoffMs} ms`);
  if (!(p.maxBackoffMs > 0)) out.push(`retry.maxBackoff must be greater than 0, got ${p.maxBackoffMs} ms`);
  if (p.maxBackoffMs < p.initialBackoffMs) out.push(`retry.maxBackoff (${p.maxBackoffMs} ms) must not be less than retry.initialBackoff (${p.initialBackoffMs} ms)`);
  if (!(p.backoffMultiplier > 0)) out.push(`retry.backoffMultiplier must be a number greater than 0, got ${p.backoffMultiplier}`);
  if (p.retryableStatusCodes.length === 0) out.push('retry.retryableStatusCodes must be non-empty');
  if (p.perTryTimeoutMs !== undefined && !(p.perTryTimeoutMs > 0)) out.push(`retry.perTryTimeout must be greater than 0, got ${p.perTryTimeoutMs} ms`);
  return out;
}

/** The gRFC A6 problems of a hedging policy. */
export function hedgingPolicyProblems(p: HedgingPolicy): string[] {
  const out: string[] = [];
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 2 || p.maxAttempts > MAX_ATTEMPTS_LIMIT) out.push(`hedging.maxAttempts must be an integer from 2 to ${MAX_ATTEMPTS_LIMIT}, got ${p.maxAttempts}`);
  if (!(p.hedgingDelayMs >= 0)) out.push(`hedging.hedgingDelay must not be negative, got ${p.hedgingDelayMs} ms`);
  return out;
}

/** The problems of a breaker policy. */
export function breakerPolicyProblems(p: BreakerPolicy): string[] {
  const out: string[] = [];
  if (!Number.isInteger(p.consecutiveFailures) || p.consecutiveFailures < 1) out.push(`breaker.consecutiveFailures must be an integer at least 1, got ${p.consecutiveFailures}`);
  if (!(p.failureRatio > 0 && p.failureRatio <= 1)) out.push(`breaker.failureRatio must be greater than 0 and at most 1, got ${p.failureRatio}`);
  if (!(p.windowMs > 0)) out.push(`breaker.window must be greater than 0, got ${p.windowMs} ms`);
  if (!Number.isInteger(p.minimumCalls) || p.minimumCalls < 1) out.push(`breaker.minimumCalls must be an integer at least 1, got ${p.minimumCalls}`);
  if (!(p.openMs > 0)) out.push(`breaker.openTime must be greater than 0, got ${p.openMs} ms`);
  if (!Number.isInteger(p.halfOpenProbes) || p.halfOpenProbes < 1) out.push(`breaker.halfOpenProbes must be an integer at least 1, got ${p.halfOpenProbes}`);
  return out;
}

/** The problems of a bulkhead policy. */
export function bulkheadPolicyProblems(p: BulkheadPolicy): string[] {
  const out: string[] = [];
  if (!Number.isInteger(p.maxConcurrent) || p.maxConcurrent < 0) out.push(`bulkhead.maxConcurrent must be an integer at least 0 (0: no limit), got ${p.maxConcurrent}`);
  if (!Number.isInteger(p.maxQueue) || p.maxQueue < 0) out.push(`bulkhead.maxQueue must be an integer at least 0, got ${p.maxQueue}`);
  return out;
}

/**
 * What is wrong with a credential's shape (the files and variables themselves are checked at load time,
 * credentials.ts credentialsFileProblems): one source, and what the OAuth2 grant needs.
 */
export function credentialsPolicyProblems(p: CredentialsPolicy): string[] {
  if (p.tokenFile !== undefined && p.tokenUrl !== undefined) {
    return ['credentials: tokenFile and tokenUrl both set; a credential is a token file or an OAuth2 client-credentials grant, not both'];
  }
  if (p.tokenFile !== undefined) {
    const extra = (['clientId', 'clientSecretFile', 'audience'] as const).filter((k) => p[k] !== undefined);
    return extra.length > 0 || p.scopes.length > 0 ? [`credentials: ${[...extra, ...(p.scopes.length > 0 ? ['scopes'] : [])].join(', ')} only mean something with tokenUrl (an OAuth2 grant), not with tokenFile`] : [];
  }
  if (p.tokenUrl === undefined) return ['credentials: clientId without tokenUrl; set tokenUrl (the OAuth2 token endpoint) or tokenFile'];
  if (p.clientId === undefined) return ['credentials: tokenUrl needs a clientId'];
  return [];
}

function retryJson(p: RetryPolicy): Record<string, unknown> {
  return {
    maxAttempts: p.maxAttempts,
    initialBackoff: durationText(p.initialBackoffMs),
    maxBackoff: durationText(p.maxBackoffMs),
    backoffMultiplier: p.backoffMultiplier,
    retryableStatusCodes: [...p.retryableStatusCodes],
  };
}

function hedgingJson(p: HedgingPolicy): Record<string, unknown> {
  return { maxAttempts: p.maxAttempts, hedgingDelay: durationText(p.hedgingDelayMs), nonFatalStatusCodes: [...p.nonFatalStatusCodes] };
}

/** The global default retry policy (used for the catch-all method config entry). */
export function defaultRetryPolicy(s: OutboundSettings): RetryPolicy | undefined {
  if (s.retryMaxAttempts < 2) return undefined;
  return {
    maxAttempts: s.retryMaxAttempts,
    initialBackoffMs: s.retryInitialBackoffMs,
    maxBackoffMs: s.retryMaxBackoffMs,
    backoffMultiplier: s.retryBackoffMultiplier,
    retryableStatusCodes: ['UNAVAILABLE'],
    perTryTimeoutMs: undefined,
  };
}

/**
 * Builds the service config of one channel from the routes that use it. `loadBalancingConfig` is the chosen
 * policy (gRFC A24 form); grpc-js's round_robin spreads calls over every address the resolver returns (a
 * Kubernetes headless service via `dns:///`, or `ipv4:a:1,b:2`).
 */
export function buildServiceConfig(routes: readonly PolicyRoute[], s: OutboundSettings): Record<string, unknown> {
  const byPolicy = new Map<string, { name: { service: string; method: string }[]; entry: Record<string, unknown> }>();
  const seen = new Set<string>();
  for (const r of routes) {
    if (seen.has(r.grpcPath)) continue;
    seen.add(r.grpcPath);
    const [, service = '', method = ''] = r.grpcPath.split('/');
    const entry: Record<string, unknown> = {};
    if (r.policy.hedging) entry['hedgingPolicy'] = hedgingJson(r.policy.hedging);
    // grpc-js retries a retryable code whether or not the call reached the server, so it would repeat an
    // unsafe call whose connection was lost; attache's own driver retries those (grpcjs-wire.ts).
    else if (r.policy.retry && r.policy.safe) entry['retryPolicy'] = retryJson(r.policy.retry);
    const key = JSON.stringify(entry);
    let group = byPolicy.get(key);
    if (group === undefined) byPolicy.set(key, (group = { name: [], entry }));
    group.name.push({ service, method });
  }
  const fallback = defaultRetryPolicy(s);
  const methodConfig: Record<string, unknown>[] = [...byPolicy.values()].map((g) => ({ name: g.name, ...g.entry }));
  methodConfig.push({ name: [{}], ...(fallback ? { retryPolicy: retryJson(fallback) } : {}) });
  return {
    loadBalancingConfig: [{ [s.loadBalancing]: {} }],
    methodConfig,
    retryThrottling: { maxTokens: s.retryThrottleMaxTokens, tokenRatio: s.retryThrottleTokenRatio },
  };
}

/**
 * Groups routes by upstream, checks every policy, requires routes that share an upstream to agree on its
 * breaker, bulkhead, TLS and credentials, and builds each channel's service config. Never throws.
 */
export function buildUpstreamPlans(
  routes: readonly PolicyRoute[],
  s: OutboundSettings,
): { readonly plans: ReadonlyMap<string, UpstreamPlan>; readonly problems: readonly PlanProblem[] } {
  const problems: PlanProblem[] = [];
  const groups = new Map<string, PolicyRoute[]>();
  const reported = new Set<string>();
  const report = (p: PlanProblem): void => {
    const k = JSON.stringify(p);
    if (!reported.has(k)) problems.push(p);
    reported.add(k);
  };
  for (const r of routes) {
    const list = groups.get(r.policy.upstream.key) ?? [];
    if (list.length === 0) groups.set(r.policy.upstream.key, list);
    list.push(r);
    const own = [
      ...(r.policy.retry ? retryPolicyProblems(r.policy.retry) : []),
      ...(r.policy.hedging ? hedgingPolicyProblems(r.policy.hedging) : []),
      ...breakerPolicyProblems(r.policy.upstream.breaker),
      ...bulkheadPolicyProblems(r.policy.upstream.bulkhead),
      ...(r.policy.upstream.credentials ? credentialsPolicyProblems(r.policy.upstream.credentials) : []),
    ];
    for (const m of own) report({ code: 'ATTACHE_E_POLICY', source: r.source, rule: r.selector, message: m });
    const tls = r.policy.upstream.tls;
    if (tls && (tls.cert === undefined) !== (tls.key === undefined)) {
      report({ code: 'ATTACHE_E_POLICY', source: r.source, rule: r.selector, message: `tls: a client certificate and its key go together; set both cert and key (got only ${tls.cert ? 'cert' : 'key'})` });
    }
  }

  const plans = new Map<string, UpstreamPlan>();
  for (const [key, list] of groups) {
    const first = list[0]!;
    const shared = (p: UpstreamPolicy): string => JSON.stringify([p.breaker, p.bulkhead, p.tls, p.credentials ?? null]);
    const firstShared = shared(first.policy.upstream);
    // Routes of one upstream usually share its policy object: compare those by identity (1,200 routes).
    const other = list.find((r) => r.policy.upstream !== first.policy.upstream && shared(r.policy.upstream) !== firstShared);
    if (other !== undefined) {
      report({
        code: 'ATTACHE_E_UPSTREAM_CONFLICT',
        source: other.source,
        rule: other.selector,
        message: `${key} is shared with ${first.selector} (${first.source}) but gets a different breaker, bulkhead, tls or credentials; these are per upstream, so give every method of one upstream the same settings`,
      });
    }
    const serviceConfig = buildServiceConfig(list, s);
    const json = JSON.stringify(serviceConfig);
    try {
      validateServiceConfig(JSON.parse(json));
    } catch (err) {
      report({ code: 'ATTACHE_E_SERVICE_CONFIG', source: first.source, rule: first.selector, message: `grpc-js rejects the service config built for ${key}: ${err instanceof Error ? err.message : String(err)}` });
    }
    plans.set(key, Object.freeze({ policy: first.policy.upstream, serviceConfig: Object.freeze(serviceConfig), serviceConfigJson: json, selectors: Object.freeze([...new Set(list.map((r) => r.selector))]) }));
  }
  return { plans, problems };
}
