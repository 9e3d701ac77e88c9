import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import type { AttacheRuleSpec } from '../config/mapping.js';
import { createPolicyResolver, isSafeMethod, resolveMethodPolicy, type MethodFacts } from './policy.js';
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

describe('createPolicyResolver', () => {
  it('gives methods with equal policies one shared object, equal to what resolveMethodPolicy gives, and keeps problems per method', () => {
    const rules = [rule('a.S.Create', { retry: { retryableStatusCodes: ['DEADLINE_EXCEEDED'] } }), rule('b.*', { breaker: { consecutiveFailures: 3 } })];
    const resolve = createPolicyResolver(rules, S);
    const getA = resolve(facts('a.S.Get', ['GET']));
    const listA = resolve(facts('a.S.List', ['GET']));
    const getOther = resolve({ ...facts('c.S.Get', ['GET']), target: 'other:50051' });
    const getB = resolve(facts('b.S.Get', ['GET']));
    const create = resolve(facts('a.S.Create', ['POST']));
    const update = resolve(facts('a.S.Update', ['POST']));
    const remove = resolve(facts('a.S.Delete', ['POST']));
    for (const [got, f] of [[getA, facts('a.S.Get', ['GET'])], [getB, facts('b.S.Get', ['GET'])], [create, facts('a.S.Create', ['POST'])]] as const) {
      expect(got).toEqual(resolveMethodPolicy(f, rules, S));
    }
    expect(listA.policy).toBe(getA.policy);
    expect(getOther.policy).not.toBe(getA.policy);
    expect(getB.policy).not.toBe(getA.policy);
    expect(getB.policy.upstream.breaker.consecutiveFailures).toBe(3);
    expect(remove.policy).toBe(update.policy);
    expect(create.policy).not.toBe(update.policy); // the rule leaves Create no retryable code
    expect(create.problems.map((p) => p.code)).toEqual(['ATTACHE_E_UNSAFE_RETRY']);
    expect(update.problems).toEqual([]);
  });
});

describe('resolveMethodPolicy: credentials', () => {
  const global = (args: string[]) => {
    const r = loadConfig(args, {});
    if (!r.ok) throw new Error(r.errors.join('\n'));
    return r.config.outbound;
  };
  const creds = (rules: AttacheRuleSpec[], s = S) => resolveMethodPolicy(facts('a.S.Get', ['GET']), rules, s).policy.upstream.credentials;

  it('none by default', () => {
    expect(creds([])).toBeUndefined();
  });

  it('the global settings, with the secret variable defaulted', () => {
    const s = global(['--upstream-token-url', 'https://auth.example.com/t', '--upstream-client-id', 'c', '--upstream-scope', 'x', '--upstream-caller-authorization', 'drop']);
    expect(creds([], s)).toEqual({
      tokenFile: undefined, tokenUrl: 'https://auth.example.com/t', clientId: 'c', clientSecretFile: undefined, clientSecretEnv: 'ATTACHE_UPSTREAM_CLIENT_SECRET',
      scopes: ['x'], audience: undefined, clientAuth: 'basic', callerAuthorization: 'drop', reloadMs: 10_000,
    });
  });

  it('a rule replaces the global credential whole (callerAuthorization and clientAuth fall back), and credentials: false removes it', () => {
    const s = global(['--upstream-token-url', 'https://auth.example.com/t', '--upstream-client-id', 'c', '--upstream-scope', 'x', '--upstream-caller-authorization', 'keep']);
    expect(creds([rule('a.*', { credentials: { tokenFile: '/t' } })], s)).toMatchObject({ tokenFile: '/t', tokenUrl: undefined, clientId: undefined, scopes: [], callerAuthorization: 'keep', clientAuth: 'basic' });
    expect(creds([rule('a.*', { credentials: { tokenFile: '/t' } }), rule('a.S.Get', { credentials: { disabled: true } })], s)).toBeUndefined();
  });

  it('buildUpstreamPlans reports a section with two sources or without what its grant needs', () => {
    const plan = (c: AttacheRuleSpec['credentials']) => {
      const { policy } = resolveMethodPolicy(facts('a.S.Get', ['GET']), [rule('a.S.Get', { credentials: c })], S);
      return buildUpstreamPlans([{ selector: 'a.S.Get', source: 'm.yaml:7', grpcPath: '/a.S/Get', policy } as PolicyRoute], S).problems.map((p) => p.message);
    };
    expect(plan({ tokenFile: '/t', tokenUrl: 'https://a/t', clientId: 'c' })).toEqual([expect.stringContaining('tokenFile and tokenUrl both set')]);
    expect(plan({ tokenUrl: 'https://a/t' })).toEqual(['credentials: tokenUrl needs a clientId']);
    expect(plan({ clientId: 'c' })).toEqual([expect.stringContaining('clientId without tokenUrl')]);
    expect(plan({ tokenFile: '/t', scopes: ['x'] })).toEqual([expect.stringContaining('scopes only mean something with tokenUrl')]);
    expect(plan({ tokenFile: '/t' })).toEqual([]);
  });
});
