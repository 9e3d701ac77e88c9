import { describe, expect, it } from 'vitest';
import { loadMappings } from './mapping.js';
import { parseChannelOptions, parseEnvName, parseScopes, parseStatusCodes, parseTokenUrl, splitScopes } from './outbound-values.js';

const load = (yaml: string) => loadMappings(['/cfg/m.yaml'], () => `type: google.api.Service\nattache:\n  rules:\n${yaml}`);

describe('attache rules: outbound sections', () => {
  it('reads retry, hedging, breaker, bulkhead and tls; durations in ms; tls paths against the file folder', () => {
    const { mappings, errors } = load(`    - selector: a.S.Get
      retry: { maxAttempts: 4, initialBackoff: 0.05s, maxBackoff: 1s, backoffMultiplier: 1.5, retryableStatusCodes: [UNAVAILABLE, 4], perTryTimeout: 200ms }
      hedging: { maxAttempts: 3, hedgingDelay: 100ms, nonFatalStatusCodes: [unavailable] }
    - selector: "a.*"
      breaker: { enabled: true, consecutiveFailures: 9, failureRatio: 0.25, window: 30s, minimumCalls: 5, openTime: 2s, halfOpenProbes: 3 }
      bulkhead: { maxConcurrent: 10, maxQueue: 0 }
      tls: { ca: certs/ca.pem, cert: /abs/c.pem, key: /abs/c.key, serverName: up.internal }
`);
    expect(errors).toEqual([]);
    expect(mappings.attache[0]).toMatchObject({
      retry: { maxAttempts: 4, initialBackoffMs: 50, maxBackoffMs: 1000, backoffMultiplier: 1.5, retryableStatusCodes: ['UNAVAILABLE', 'DEADLINE_EXCEEDED'], perTryTimeoutMs: 200 },
      hedging: { maxAttempts: 3, hedgingDelayMs: 100, nonFatalStatusCodes: ['UNAVAILABLE'] },
    });
    expect(mappings.attache[1]).toMatchObject({
      breaker: { enabled: true, consecutiveFailures: 9, failureRatio: 0.25, windowMs: 30_000, minimumCalls: 5, openMs: 2000, halfOpenProbes: 3 },
      bulkhead: { maxConcurrent: 10, maxQueue: 0 },
      tls: { ca: '/cfg/certs/ca.pem', cert: '/abs/c.pem', key: '/abs/c.key', serverName: 'up.internal' },
    });
  });

  it('retry: false and breaker: false', () => {
    const { mappings } = load('    - selector: "a.*"\n      retry: false\n      breaker: false\n');
    expect(mappings.attache[0]).toMatchObject({ retry: { maxAttempts: 1 }, breaker: { enabled: false } });
  });

  it.each([
    ['      retry: { maxAttempt: 3 }', 'retry: unknown key "maxAttempt"; did you mean "maxAttempts"?'],
    ['      retry: { initialBackoff: 100 }', 'retry.initialBackoff: expected a duration like 100ms, 0.5s or 2s, got the number 100'],
    ['      retry: { retryableStatusCodes: [UNAVAIL] }', 'retry.retryableStatusCodes: "UNAVAIL" is not a gRPC status code'],
    ['      retry: { retryableStatusCodes: [] }', 'retry.retryableStatusCodes: the list of status codes is empty'],
    ['      breaker: { failureRatio: high }', 'breaker.failureRatio: expected a number'],
    ['      bulkhead: { maxConcurrent: -1 }', 'bulkhead.maxConcurrent: expected a whole number ≥ 0'],
    ['      tls: [a]', 'tls: expected a mapping of ca, cert, key, serverName'],
  ])('%s → error at file:line', (line, message) => {
    const { errors } = load(`    - selector: "a.*"\n${line}\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.source).toBe('/cfg/m.yaml:5');
    expect(errors[0]!.message).toContain(message);
  });
});

describe('parseStatusCodes and parseChannelOptions', () => {
  it('codes by name or number, deduplicated; OK is not a failure code', () => {
    expect(parseStatusCodes(['unavailable', 14, 'DEADLINE_EXCEEDED'])).toEqual({ ok: true, value: ['UNAVAILABLE', 'DEADLINE_EXCEEDED'] });
    expect(parseStatusCodes(['OK']).ok).toBe(false);
    expect(parseStatusCodes([17]).ok).toBe(false);
  });

  it.each([
    [{ 'grpc.client_idle_timeout_ms': 60000, 'grpc.enable_http_proxy': false, 'grpc.primary_user_agent': 'x' }, { ok: true, value: { 'grpc.client_idle_timeout_ms': 60000, 'grpc.enable_http_proxy': 0, 'grpc.primary_user_agent': 'x' } }],
    [{ 'grpc.keepalive_time_ms': 1 }, { ok: false, reason: '"grpc.keepalive_time_ms" is set by attache itself; use keepalive.time instead' }],
    [{ 'grpc.nope': 1 }, { ok: false, reason: expect.stringContaining('"grpc.nope" is not a grpc-js channel option attache passes through') }],
    [{ 'grpc.client_idle_timeout_ms': -5 }, { ok: false, reason: 'grpc.client_idle_timeout_ms: expected a whole number ≥ 0, got -5' }],
    [[1], { ok: false, reason: expect.stringContaining('expected a mapping') }],
  ])('%j', (input, expected) => expect(parseChannelOptions(input)).toEqual(expected));
});

describe('attache rules: credentials', () => {
  it('reads a token file (against the file folder), an OAuth2 grant, and credentials: false', () => {
    const { mappings, errors } = load(`    - selector: a.S.Get
      credentials: { tokenFile: secrets/token, callerAuthorization: KEEP }
    - selector: "b.*"
      credentials: { tokenUrl: "https://auth.example.com/t", clientId: c1, clientSecretEnv: B_SECRET, scopes: "x y,z", audience: aud, clientAuth: post }
    - selector: "c.*"
      credentials: false
`);
    expect(errors).toEqual([]);
    expect(mappings.attache.map((r) => r.credentials)).toEqual([
      { tokenFile: '/cfg/secrets/token', callerAuthorization: 'keep' },
      { tokenUrl: 'https://auth.example.com/t', clientId: 'c1', clientSecretEnv: 'B_SECRET', scopes: ['x', 'y', 'z'], audience: 'aud', clientAuth: 'post' },
      { disabled: true },
    ]);
  });

  it.each([
    ['tokenUrl: "http://auth.example.com/t"', 'credentials.tokenUrl: "http://auth.example.com/t" uses http:// to a host that is not loopback'],
    ['tokenUrl: "https://a.example/t#frag"', 'has a fragment'],
    ['clientSecretEnv: "1BAD"', 'is not an environment variable name'],
    ['scopes: ["a b"]', 'is not an OAuth2 scope'],
    ['clientAuth: jwt', '"jwt" is not one of basic, post'],
    ['callerAuthorization: merge', '"merge" is not one of forward, keep, drop'],
    ['clientSecret: hunter2', 'unknown key "clientSecret"'],
  ])('refuses %s', (entry, message) => {
    const { errors } = load(`    - selector: "a.*"\n      credentials: { ${entry} }\n`);
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining(message)]);
    expect(errors.map((e) => e.message).join('')).not.toContain('hunter2');
  });
});

describe('credential value parsers', () => {
  it.each([
    ['https://auth.example.com/oauth2/token', true],
    ['http://127.0.0.1:8080/token', true],
    ['http://localhost/token', true],
    ['http://[::1]:9/token', true],
    ['http://10.0.0.1/token', false],
    ['ftp://auth.example.com/token', false],
    ['auth.example.com/token', false],
    ['https://u:p@auth.example.com/token', false],
  ])('parseTokenUrl(%s) ok=%s', (text, good) => {
    expect(parseTokenUrl(text).ok).toBe(good);
  });

  it('parseScopes and splitScopes: space or comma, duplicates dropped, no quote or backslash', () => {
    expect(parseScopes(splitScopes('a b,c  a'))).toEqual({ ok: true, value: ['a', 'b', 'c'] });
    expect(parseScopes(['a"b']).ok).toBe(false);
    expect(parseScopes(['a\\b']).ok).toBe(false);
    expect(parseScopes([1]).ok).toBe(false);
  });

  it.each([['ATTACHE_X', true], ['_x1', true], ['1X', false], ['A-B', false], ['', false]])('parseEnvName(%s) ok=%s', (text, good) => {
    expect(parseEnvName(text).ok).toBe(good);
  });
});
