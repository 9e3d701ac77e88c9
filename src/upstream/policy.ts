/**
 * Outbound policy resolved per method at load time: retry or hedging (per method, tied to the method's
 * safety) and the upstream's breaker, bulkhead and TLS (per upstream). Pure: no grpc-js, no I/O.
 *
 * Sources, most specific first: for each section, the most specific `attache: rules:` entry whose selector
 * matches the method and that sets the section (so `payments.v1.*` can set a breaker while an exact rule
 * sets retries), then the global settings (config schema `outbound`).
 *
 * Safety. gRFC A6 retries any configured code, but retrying a call whose outcome is unknown is only harmless
 * when the method is safe to repeat. A method is safe when its proto says
 * `option idempotency_level = NO_SIDE_EFFECTS` or `IDEMPOTENT` (google/protobuf/descriptor.proto
 * MethodOptions), when every HttpRule binding of it is a GET (RFC 9110 §9.2.1: GET is safe), or when its
 * retry rule says `idempotent: true` (for protos the user cannot annotate). A call of a method that is not
 * safe is sent at most once when its outcome is unknown (retrying.ts). Only safe
 * methods may retry DEADLINE_EXCEEDED (the upstream may have acted before the deadline) or RESOURCE_EXHAUSTED,
 * have a per-try timeout, or hedge. An exact selector asking for those on an unsafe method is a load error;
 * a wildcard selector just does not apply them to the unsafe methods it covers.
 */
import type { Config } from '../config/load.js';
import type { AttacheRuleSpec } from '../config/mapping.js';
import { mostSpecificRule } from '../config/mapping.js';
import type { CallerAuthorization, ClientAuthMethod } from '../config/outbound-values.js';
import type { BreakerOptions } from './breaker.js';

/** The global outbound settings (config schema `outbound`). */
export type OutboundSettings = Config['outbound'];

/** gRFC A6 retryPolicy, plus attache's per-try timeout. Only present when maxAttempts ≥ 2. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly backoffMultiplier: number;
  /** Upper-case google.rpc.Code names. */
  readonly retryableStatusCodes: readonly string[];
  /** Each attempt's deadline, carved out of the call's; undefined: attempts share the call's deadline. */
  readonly perTryTimeoutMs: number | undefined;
}

/** gRFC A6 hedgingPolicy. */
export interface HedgingPolicy {
  readonly maxAttempts: number;
  readonly hedgingDelayMs: number;
  readonly nonFatalStatusCodes: readonly string[];
}

/** The circuit breaker of one upstream (breaker.ts). */
export interface BreakerPolicy extends BreakerOptions {
  readonly enabled: boolean;
}

/** The bulkhead of one upstream (bulkhead.ts); maxConcurrent 0 means no limit. */
export interface BulkheadPolicy {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
}

/** TLS to one upstream. Paths are absolute or relative to the working directory. */
export interface TlsPolicy {
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly serverName: string | undefined;
}

/**
 * The credential attache attaches to every call of one upstream (credentials.ts, docs/credentials.md):
 * a bearer token from `tokenFile`, or an OAuth2 client-credentials token from `tokenUrl`. Holds where the
 * secrets are (a file, an environment variable's name), never a secret itself. Checked by
 * credentialsPolicyProblems (service-config.ts) and, for the files and variables, at load time (snapshot.ts).
 */
export interface CredentialsPolicy {
  readonly tokenFile: string | undefined;
  readonly tokenUrl: string | undefined;
  readonly clientId: string | undefined;
  readonly clientSecretFile: string | undefined;
  /** Used when `clientSecretFile` is unset. */
  readonly clientSecretEnv: string;
  readonly scopes: readonly string[];
  readonly audience: string | undefined;
  readonly clientAuth: ClientAuthMethod;
  readonly callerAuthorization: CallerAuthorization;
  /** How often a token file is re-read. */
  readonly reloadMs: number;
}

/** Everything per upstream. One channel per `key`. */
export interface UpstreamPolicy {
  /** `grpc://target` or `grpcs://target`: the channel's identity. */
  readonly key: string;
  /** grpc-js target syntax. */
  readonly target: string;
  /** Undefined for plaintext. */
  readonly tls: TlsPolicy | undefined;
  readonly breaker: BreakerPolicy;
  readonly bulkhead: BulkheadPolicy;
  /** Undefined: calls carry no credential of attache's (the caller's Authorization, if any, is forwarded). */
  readonly credentials: CredentialsPolicy | undefined;
}

/** Everything per method. */
export interface MethodPolicy {
  /** Whether the method may be repeated (see the module comment). */
  readonly safe: boolean;
  /** Undefined when the method is not retried (or is hedged). */
  readonly retry: RetryPolicy | undefined;
  readonly hedging: HedgingPolicy | undefined;
  readonly upstream: UpstreamPolicy;
}

/** Codes only safe methods may retry. */
export const SAFE_ONLY_CODES: readonly string[] = ['DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED'];

/** What the resolver needs to know about one method. */
export interface MethodFacts {
  /** `pkg.Service.Method`. */
  readonly selector: string;
  /** The HTTP methods of every binding of the method. */
  readonly httpMethods: readonly string[];
  /** descriptor.proto MethodOptions.idempotency_level as protobufjs reports it, if set. */
  readonly idempotencyLevel: unknown;
  readonly target: string;
  readonly tls: boolean;
}

/** A policy problem; routes.ts turns it into a RouteError naming the rule. */
export interface PolicyProblem {
  readonly code: 'ATTACHE_E_UNSAFE_RETRY';
  /** `file:line` of the rule. */
  readonly source: string;
  readonly message: string;
}

/** A method is safe when idempotent per its proto, or reached only through GET. */
export function isSafeMethod(httpMethods: readonly string[], idempotencyLevel: unknown): boolean {
  if (idempotencyLevel === 'NO_SIDE_EFFECTS' || idempotencyLevel === 'IDEMPOTENT' || idempotencyLevel === 1 || idempotencyLevel === 2) return true;
  return httpMethods.length > 0 && httpMethods.every((m) => m === 'GET');
}

type SectionKey = 'retry' | 'hedging' | 'breaker' | 'bulkhead' | 'tls' | 'credentials';

/** The most specific rule matching `selector` that sets `key` (rules apply section by section). */
function ruleFor(rules: readonly AttacheRuleSpec[], selector: string, key: SectionKey): AttacheRuleSpec | undefined {
  return mostSpecificRule(rules, selector, (r) => r[key] !== undefined);
}

const isExact = (rule: AttacheRuleSpec): boolean => !rule.selector.includes('*');
const where = (rule: AttacheRuleSpec): string => `${rule.loc.file}:${rule.loc.line}`;

/**
 * The method's policy from its facts, the attache rules and the global settings. Never throws; problems are
 * returned alongside (the policy is still usable, with the unsafe parts dropped).
 */
export function resolveMethodPolicy(
  facts: MethodFacts,
  rules: readonly AttacheRuleSpec[],
  s: OutboundSettings,
): { readonly policy: MethodPolicy; readonly problems: readonly PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  const retryRule = ruleFor(rules, facts.selector, 'retry');
  const safe = isSafeMethod(facts.httpMethods, facts.idempotencyLevel) || retryRule?.retry?.idempotent === true;
  const unsafeWhy = `${facts.selector} is not safe to repeat (its bindings are ${facts.httpMethods.join(', ')}, it has no idempotency_level NO_SIDE_EFFECTS or IDEMPOTENT, and no rule says retry.idempotent: true)`;

  const r = retryRule?.retry ?? {};
  let codes = r.retryableStatusCodes ?? ['UNAVAILABLE'];
  let perTryTimeoutMs = r.perTryTimeoutMs;
  if (!safe) {
    const unsafe = codes.filter((c) => SAFE_ONLY_CODES.includes(c));
    if ((unsafe.length > 0 || perTryTimeoutMs !== undefined) && retryRule !== undefined && isExact(retryRule)) {
      const what = unsafe.length > 0 ? `retrying ${unsafe.join(' and ')}` : 'a per-try timeout';
      problems.push({ code: 'ATTACHE_E_UNSAFE_RETRY', source: where(retryRule), message: `${what} is only allowed for safe methods; ${unsafeWhy}` });
    }
    codes = codes.filter((c) => !SAFE_ONLY_CODES.includes(c));
    perTryTimeoutMs = undefined;
  }
  const maxAttempts = r.maxAttempts ?? s.retryMaxAttempts;
  let retry: RetryPolicy | undefined =
    maxAttempts >= 2 && codes.length > 0
      ? {
          maxAttempts,
          initialBackoffMs: r.initialBackoffMs ?? s.retryInitialBackoffMs,
          maxBackoffMs: r.maxBackoffMs ?? s.retryMaxBackoffMs,
          backoffMultiplier: r.backoffMultiplier ?? s.retryBackoffMultiplier,
          retryableStatusCodes: codes,
          perTryTimeoutMs,
        }
      : undefined;

  let hedging: HedgingPolicy | undefined;
  const hedgingRule = ruleFor(rules, facts.selector, 'hedging');
  if (hedgingRule?.hedging !== undefined) {
    if (safe) {
      const h = hedgingRule.hedging;
      hedging = { maxAttempts: h.maxAttempts ?? 2, hedgingDelayMs: h.hedgingDelayMs ?? 0, nonFatalStatusCodes: h.nonFatalStatusCodes ?? [] };
      // gRFC A6: a method has a retryPolicy or a hedgingPolicy, never both.
      retry = undefined;
    } else if (isExact(hedgingRule)) {
      problems.push({ code: 'ATTACHE_E_UNSAFE_RETRY', source: where(hedgingRule), message: `hedging is only allowed for safe methods; ${unsafeWhy}` });
    }
  }

  return { policy: Object.freeze({ safe, retry, hedging, upstream: resolveUpstreamPolicy(facts, rules, s) }), problems };
}

/**
 * resolveMethodPolicy for every method of one snapshot, with equal policies shared: an API set's methods
 * mostly resolve to the same few (the global settings, a rule per service), and every route keeps its
 * method's policy for the snapshot's life (~0.5 MiB of ~760 equal copies on bench/realworld's 25-package
 * set). Policies are frozen values; nothing compares them by identity.
 */
export function createPolicyResolver(
  rules: readonly AttacheRuleSpec[],
  s: OutboundSettings,
): (facts: MethodFacts) => { readonly policy: MethodPolicy; readonly problems: readonly PolicyProblem[] } {
  const shared = new Map<string, MethodPolicy>();
  return (facts) => {
    const { policy, problems } = resolveMethodPolicy(facts, rules, s);
    // Non-finite numbers (an unbounded limit) would all print as null.
    const key = JSON.stringify(policy, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
    const same = shared.get(key);
    if (same !== undefined) return { policy: same, problems };
    shared.set(key, policy);
    return { policy, problems };
  };
}

function resolveUpstreamPolicy(facts: MethodFacts, rules: readonly AttacheRuleSpec[], s: OutboundSettings): UpstreamPolicy {
  const b = ruleFor(rules, facts.selector, 'breaker')?.breaker ?? {};
  const k = ruleFor(rules, facts.selector, 'bulkhead')?.bulkhead ?? {};
  const t = ruleFor(rules, facts.selector, 'tls')?.tls ?? {};
  return Object.freeze({
    key: `${facts.tls ? 'grpcs' : 'grpc'}://${facts.target}`,
    target: facts.target,
    tls: facts.tls
      ? Object.freeze({ ca: t.ca ?? s.tlsCa, cert: t.cert ?? s.tlsCert, key: t.key ?? s.tlsKey, serverName: t.serverName ?? s.tlsServerName })
      : undefined,
    breaker: Object.freeze({
      enabled: b.enabled ?? s.breakerEnabled,
      consecutiveFailures: b.consecutiveFailures ?? s.breakerConsecutiveFailures,
      failureRatio: b.failureRatio ?? s.breakerFailureRatio,
      windowMs: b.windowMs ?? s.breakerWindowMs,
      minimumCalls: b.minimumCalls ?? s.breakerMinimumCalls,
      openMs: b.openMs ?? s.breakerOpenMs,
      halfOpenProbes: b.halfOpenProbes ?? s.breakerHalfOpenProbes,
    }),
    bulkhead: Object.freeze({ maxConcurrent: k.maxConcurrent ?? s.bulkheadMaxConcurrent, maxQueue: k.maxQueue ?? s.bulkheadMaxQueue }),
    credentials: resolveCredentials(ruleFor(rules, facts.selector, 'credentials')?.credentials, s),
  });
}

/**
 * The upstream's credential: the most specific rule's `credentials:` section as a whole (only
 * `callerAuthorization`, `clientAuth` and the secret's variable name fall back to the global settings), else
 * the global `credentials.*` settings.
 * Undefined when neither names a token file or a token URL, or the rule says `credentials: false`.
 */
function resolveCredentials(rule: AttacheRuleSpec['credentials'], s: OutboundSettings): CredentialsPolicy | undefined {
  if (rule?.disabled === true) return undefined;
  const c = rule ?? {
    tokenFile: s.credentialsTokenFile,
    tokenUrl: s.credentialsTokenUrl,
    clientId: s.credentialsClientId,
    clientSecretFile: s.credentialsClientSecretFile,
    clientSecretEnv: s.credentialsClientSecretEnv,
    scopes: s.credentialsScopes,
    audience: s.credentialsAudience,
    clientAuth: s.credentialsClientAuth,
  };
  if (c.tokenFile === undefined && c.tokenUrl === undefined && c.clientId === undefined) return undefined;
  return Object.freeze({
    tokenFile: c.tokenFile,
    tokenUrl: c.tokenUrl,
    clientId: c.clientId,
    clientSecretFile: c.clientSecretFile,
    clientSecretEnv: c.clientSecretEnv ?? s.credentialsClientSecretEnv,
    scopes: Object.freeze([...(c.scopes ?? [])]),
    audience: c.audience,
    clientAuth: c.clientAuth ?? s.credentialsClientAuth,
    callerAuthorization: rule?.callerAuthorization ?? s.credentialsCallerAuthorization,
    reloadMs: s.credentialsReloadMs,
  });
}
