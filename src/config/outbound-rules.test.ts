import { describe, expect, it } from 'vitest';
import { loadMappings } from './mapping.js';
import { parseChannelOptions, parseStatusCodes } from './outbound-values.js';

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
