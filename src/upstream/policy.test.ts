import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import type { AttacheRuleSpec } from '../config/mapping.js';
import { isSafeMethod, resolveMethodPolicy, type MethodFacts } from './policy.js';
import { buildServiceConfig, buildUpstreamPlans, retryPolicyProblems, type PolicyRoute } from './service-config.js';

const loaded = loadConfig([], {});
if (!loaded.ok) throw new Error('defaults do not load');
const S = loaded.config.outbound;

const facts = (selector: string, httpMethods: string[], idempotencyLevel?: string): MethodFacts => ({ selector, httpMethods, idempotencyLevel, target: 'up:50051', tls: false });
const rule = (selector: string, extra: Partial<AttacheRuleSpec>): AttacheRuleSpec => ({ selector, json: undefined, loc: { file: 'm.yaml', line: 7 }, ...extra });

describe('isSafeMethod', () => {
  it.each([
    [['GET'], undefined, true],
    [['GET', 'GET'], undefined, true],
    [['POST'], undefined, false],
    [['GET', 'POST'], undefined, false],
    [['POST'], 'IDEMPOTENT', true],
    [['DELETE'], 'NO_SIDE_EFFECTS', true],
    [['POST'], 'IDEMPOTENCY_UNKNOWN', false],
    [[], undefined, false],
  ])('%j with idempotency_level %s → %s', (methods, level, safe) => expect(isSafeMethod(methods, level)).toBe(safe));
});

describe('resolveMethodPolicy', () => {
  it('defaults: UNAVAILABLE, 3 attempts, 100 ms ×2 up to 2 s, no per-try timeout, breaker and bulkhead from config', () => {
    const { policy, problems } = resolveMethodPolicy(facts('a.S.Get', ['GET']), [], S);
    expect(problems).toEqual([]);
    expect(policy.retry).toEqual({ maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 2000, backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'], perTryTimeoutMs: undefined });
    expect(policy.upstream).toMatchObject({ key: 'grpc://up:50051', tls: undefined, breaker: { enabled: true, consecutiveFailures: 5 }, bulkhead: { maxConcurrent: 256, maxQueue: 64 } });
  });

  it('a POST is unsafe unless its retry rule says idempotent: true, which also unlocks the safe-only policies', () => {
    expect(resolveMethodPolicy(facts('a.S.Create', ['POST']), [], S).policy.safe).toBe(false);
    const rules = [rule('a.S.Create', { retry: { idempotent: true, retryableStatusCodes: ['UNAVAILABLE', 'DEADLINE_EXCEEDED'] } })];
    const { policy, problems } = resolveMethodPolicy(facts('a.S.Create', ['POST']), rules, S);
    expect(problems).toEqual([]);
    expect(policy.safe).toBe(true);
    expect(policy.retry?.retryableStatusCodes).toEqual(['UNAVAILABLE', 'DEADLINE_EXCEEDED']);
  });

  it('a wildcard rule asking for DEADLINE_EXCEEDED applies it to safe methods and drops it for unsafe ones', () => {
    const rules = [rule('a.*', { retry: { retryableStatusCodes: ['UNAVAILABLE', 'DEADLINE_EXCEEDED'], perTryTimeoutMs: 100 } })];
    const get = resolveMethodPolicy(facts('a.S.Get', ['GET']), rules, S);
    expect(get.policy.retry).toMatchObject({ retryableStatusCodes: ['UNAVAILABLE', 'DEADLINE_EXCEEDED'], perTryTimeoutMs: 100 });
    const post = resolveMethodPolicy(facts('a.S.Create', ['POST']), rules, S);
    expect(post.problems).toEqual([]);
    expect(post.policy.retry).toMatchObject({ retryableStatusCodes: ['UNAVAILABLE'], perTryTimeoutMs: undefined });
  });

  it.each([
    ['retry DEADLINE_EXCEEDED', { retry: { retryableStatusCodes: ['DEADLINE_EXCEEDED'] } }, /retrying DEADLINE_EXCEEDED is only allowed for safe methods/],
    ['retry RESOURCE_EXHAUSTED', { retry: { retryableStatusCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'] } }, /retrying RESOURCE_EXHAUSTED/],
    ['a per-try timeout', { retry: { perTryTimeoutMs: 50 } }, /a per-try timeout is only allowed/],
    ['hedging', { hedging: { maxAttempts: 2 } }, /hedging is only allowed for safe methods/],
  ])('an exact selector asking for %s on a POST is an error', (_l, extra, message) => {
    const { problems } = resolveMethodPolicy(facts('a.S.Create', ['POST']), [rule('a.S.Create', extra as Partial<AttacheRuleSpec>)], S);
    expect(problems).toEqual([{ code: 'ATTACHE_E_UNSAFE_RETRY', source: 'm.yaml:7', message: expect.stringMatching(message) }]);
  });

  it('hedging replaces retry (gRFC A6: one or the other)', () => {
    const { policy } = resolveMethodPolicy(facts('a.S.Get', ['GET']), [rule('a.S.Get', { hedging: { maxAttempts: 3, hedgingDelayMs: 50 } })], S);
    expect(policy.retry).toBeUndefined();
    expect(policy.hedging).toEqual({ maxAttempts: 3, hedgingDelayMs: 50, nonFatalStatusCodes: [] });
  });

  it('retry: false (maxAttempts 1) turns retries off', () => {
    expect(resolveMethodPolicy(facts('a.S.Get', ['GET']), [rule('a.*', { retry: { maxAttempts: 1 } })], S).policy.retry).toBeUndefined();
  });

  it('each section comes from the most specific rule that sets it', () => {
    const rules = [rule('a.*', { breaker: { consecutiveFailures: 9 } }), rule('a.S.Get', { retry: { maxAttempts: 4 } })];
    const { policy } = resolveMethodPolicy(facts('a.S.Get', ['GET']), rules, S);
    expect(policy.retry?.maxAttempts).toBe(4);
    expect(policy.upstream.breaker.consecutiveFailures).toBe(9);
  });
});

describe('service config', () => {
  const route = (selector: string, methods: string[], rules: AttacheRuleSpec[] = []): PolicyRoute => {
    const [pkg, svc, m] = [selector.split('.').slice(0, -2).join('.'), selector.split('.').at(-2), selector.split('.').at(-1)];
    return { selector, grpcPath: `/${pkg}.${svc}/${m}`, policy: resolveMethodPolicy(facts(selector, methods), rules, S).policy, source: 'm.yaml:1' };
  };

  it('one methodConfig entry per distinct policy, keyed by service and method, plus the catch-all default; an unsafe method gets no grpc-js retry policy (attache retries it itself)', () => {
    const rules = [rule('a.S.Get', { retry: { retryableStatusCodes: ['UNAVAILABLE', 'DEADLINE_EXCEEDED'] } })];
    const sc = buildServiceConfig([route('a.S.Get', ['GET'], rules), route('a.S.Create', ['POST'], rules), route('a.S.List', ['GET'], rules)], S);
    expect(sc).toEqual({
      loadBalancingConfig: [{ round_robin: {} }],
      methodConfig: [
        { name: [{ service: 'a.S', method: 'Get' }], retryPolicy: { maxAttempts: 3, initialBackoff: '0.1s', maxBackoff: '2s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE', 'DEADLINE_EXCEEDED'] } },
        { name: [{ service: 'a.S', method: 'Create' }] },
        { name: [{ service: 'a.S', method: 'List' }], retryPolicy: { maxAttempts: 3, initialBackoff: '0.1s', maxBackoff: '2s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] } },
        { name: [{}], retryPolicy: { maxAttempts: 3, initialBackoff: '0.1s', maxBackoff: '2s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] } },
      ],
      retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
    });
  });

  it.each([
    [{ maxAttempts: 7 }, 'retry.maxAttempts must be an integer from 2 to 5 (1 turns retries off), got 7'],
    [{ maxBackoffMs: 10, initialBackoffMs: 100 }, 'retry.maxBackoff (10 ms) must not be less than retry.initialBackoff (100 ms)'],
    [{ backoffMultiplier: 0 }, 'retry.backoffMultiplier must be a number greater than 0, got 0'],
    [{ initialBackoffMs: 0 }, 'retry.initialBackoff must be greater than 0, got 0 ms'],
  ])('retry policy %j: %s', (override, message) => {
    const p = { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 2000, backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'], perTryTimeoutMs: undefined, ...override };
    expect(retryPolicyProblems(p)).toContain(message);
  });

  it('plans: problems name the route; grpc-js accepts what is built; upstream settings must agree', () => {
    const ok = buildUpstreamPlans([route('a.S.Get', ['GET']), route('a.S.Create', ['POST'], [rule('a.S.Create', { hedging: { maxAttempts: 2 } })])], S);
    expect(ok.problems).toEqual([]);
    expect(ok.plans.get('grpc://up:50051')?.selectors).toEqual(['a.S.Get', 'a.S.Create']);

    const bad = buildUpstreamPlans([route('a.S.Get', ['GET'], [rule('a.S.Get', { retry: { maxAttempts: 9 }, breaker: { consecutiveFailures: 0 } })]), route('a.S.List', ['GET'])], S);
    expect(bad.problems.map((p) => [p.code, p.rule, p.message])).toEqual([
      ['ATTACHE_E_POLICY', 'a.S.Get', 'retry.maxAttempts must be an integer from 2 to 5 (1 turns retries off), got 9'],
      ['ATTACHE_E_POLICY', 'a.S.Get', 'breaker.consecutiveFailures must be an integer at least 1, got 0'],
      ['ATTACHE_E_UPSTREAM_CONFLICT', 'a.S.List', expect.stringContaining('grpc://up:50051 is shared with a.S.Get')],
    ]);
  });
});
