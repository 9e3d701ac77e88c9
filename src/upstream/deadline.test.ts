import { describe, it, expect } from 'vitest';
import { Code, isRpcStatus } from '../status/status.js';
import { MAX_TIMEOUT_MS, parseGrpcTimeout, parseRequestTimeout, timeoutFrom } from './deadline.js';
import type { HttpHeaders } from './metadata.js';

describe('parseGrpcTimeout (PROTOCOL-HTTP2.md "Timeout")', () => {
  it.each<[string, number]>([
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['2S', 2_000],
    ['100m', 100],
    ['1500u', 2],
    ['1000u', 1],
    ['1u', 1],
    ['1n', 1],
    ['2000001n', 3],
    ['0m', 0],
    ['0n', 0],
    ['00000001S', 1_000],
    ['99999999S', 99_999_999_000],
    ['99999999H', 99_999_999 * 3_600_000],
  ])('%s → %d ms', (v, ms) => {
    expect(parseGrpcTimeout(v)).toBe(ms);
  });

  it.each([
    ['', 'empty'],
    ['100', 'no unit'],
    ['m', 'no digits'],
    ['123456789S', '9 digits'],
    ['10s', 'lower-case s is not a unit'],
    ['10h', 'lower-case h is not a unit'],
    ['10x', 'unknown unit'],
    ['10ms', 'two-letter unit'],
    ['-1S', 'a sign'],
    ['+1S', 'a plus sign'],
    ['1.5S', 'a fraction'],
    [' 1S', 'leading space'],
    ['1S ', 'trailing space'],
    ['1 S', 'inner space'],
    ['1S, 2S', 'two values'],
    ['１S', 'non-ASCII digit'],
  ])('%j is malformed (%s)', (v) => {
    expect(parseGrpcTimeout(v)).toBeUndefined();
  });
});

describe('parseRequestTimeout', () => {
  it.each<[string, number]>([
    ['250ms', 250],
    ['2s', 2_000],
    ['1.5s', 1_500],
    ['1m', 60_000],
    ['0.5m', 30_000],
    ['2', 2_000],
    ['0.25', 250],
    ['1.2ms', 2],
    ['0.0001s', 1],
    ['0ms', 0],
    ['0', 0],
  ])('%s → %d ms', (v, ms) => {
    expect(parseRequestTimeout(v)).toBe(ms);
  });

  it.each([
    ['', 'empty'],
    ['ms', 'no number'],
    ['2S', 'upper-case unit'],
    ['2MS', 'upper-case unit'],
    ['2h', 'unknown unit'],
    ['2us', 'unknown unit'],
    ['-1s', 'negative'],
    ['+1s', 'a plus sign'],
    ['1e3ms', 'an exponent'],
    ['.5s', 'no integer part'],
    ['5.s', 'no fraction digits'],
    [' 2s', 'leading space'],
    ['2 s', 'inner space'],
    ['Infinitys', 'Infinity'],
    ['NaN', 'NaN'],
    ['0x10s', 'hex'],
    ['9'.repeat(400), 'too large to represent'],
  ])('%j is malformed (%s)', (v) => {
    expect(parseRequestTimeout(v)).toBeUndefined();
  });
});

describe('timeoutFrom', () => {
  const DEFAULT = 15_000;

  it.each<[string, HttpHeaders, number | undefined, number, number]>([
    ['neither header nor rule → the default', {}, undefined, DEFAULT, DEFAULT],
    ['the rule when the request sets none', {}, 5_000, DEFAULT, 5_000],
    ['Grpc-Timeout alone', { 'grpc-timeout': '100m' }, undefined, DEFAULT, 100],
    ['X-Request-Timeout alone', { 'x-request-timeout': '250ms' }, undefined, DEFAULT, 250],
    ['a header may exceed the default when no rule caps it', { 'x-request-timeout': '60s' }, undefined, DEFAULT, 60_000],
    ['Grpc-Timeout wins over X-Request-Timeout', { 'grpc-timeout': '2S', 'x-request-timeout': '5s' }, undefined, DEFAULT, 2_000],
    ['Grpc-Timeout wins even when longer', { 'grpc-timeout': '9S', 'x-request-timeout': '1s' }, undefined, DEFAULT, 9_000],
    ['a header shorter than the rule', { 'grpc-timeout': '1S' }, 5_000, DEFAULT, 1_000],
    ['a header longer than the rule is capped', { 'x-request-timeout': '1m' }, 5_000, DEFAULT, 5_000],
    ['a zero header is clamped to 1 ms', { 'grpc-timeout': '0m' }, 5_000, DEFAULT, 1],
    ['a zero rule is clamped to 1 ms', {}, 0, DEFAULT, 1],
    ['a huge header is clamped to 2^31-1', { 'grpc-timeout': '99999999H' }, undefined, DEFAULT, MAX_TIMEOUT_MS],
    ['a huge default is clamped to 2^31-1', {}, undefined, 10 ** 12, MAX_TIMEOUT_MS],
    ['a fractional rule is rounded up', {}, 0.5, DEFAULT, 1],
    ['a one-element array is one value', { 'grpc-timeout': ['3S'] }, undefined, DEFAULT, 3_000],
  ])('%s', (_name, headers, rule, defaultMs, expected) => {
    expect(timeoutFrom(headers, rule, defaultMs)).toBe(expected);
  });

  it.each<[string, HttpHeaders, string]>([
    ['malformed Grpc-Timeout', { 'grpc-timeout': '123456789S' }, 'grpc-timeout'],
    ['Grpc-Timeout with a bad unit', { 'grpc-timeout': '10x' }, 'grpc-timeout'],
    ['malformed X-Request-Timeout', { 'x-request-timeout': 'soon' }, 'x-request-timeout'],
    ['a malformed loser is still rejected', { 'grpc-timeout': '1S', 'x-request-timeout': 'soon' }, 'x-request-timeout'],
    ['repeated values', { 'grpc-timeout': ['1S', '2S'] }, 'grpc-timeout'],
    ['Node-joined repeated values', { 'x-request-timeout': '1s, 2s' }, 'x-request-timeout'],
    ['empty', { 'x-request-timeout': '' }, 'x-request-timeout'],
  ])('%s → INVALID_ARGUMENT naming the header', (_name, headers, header) => {
    const r = timeoutFrom(headers, 5_000, DEFAULT);
    if (!isRpcStatus(r)) throw new Error(`expected a status, got ${r}`);
    expect(r.code).toBe(Code.INVALID_ARGUMENT);
    expect(r.message).toContain(`"${header}"`);
  });

  it('shows at most 64 characters of a long malformed value', () => {
    const r = timeoutFrom({ 'x-request-timeout': 'x'.repeat(1000) }, undefined, DEFAULT);
    expect(isRpcStatus(r) && r.message.length < 250).toBe(true);
  });
});

describe('timeout parsers: fuzzed input', () => {
  const CHARS = '0123456789HMSmunsx.-+ eE';
  /** Every string of length 1–3 over CHARS: each parser returns undefined or a whole, non-negative ms count. */
  const all: string[] = [];
  for (const a of CHARS) {
    all.push(a);
    for (const b of CHARS) {
      all.push(a + b);
      for (const c of CHARS) all.push(a + b + c);
    }
  }

  it.each([
    ['parseGrpcTimeout', parseGrpcTimeout],
    ['parseRequestTimeout', parseRequestTimeout],
  ])('%s never throws and returns undefined or a whole ms count', (_name, parse) => {
    for (const v of all) {
      const ms = parse(v);
      if (ms !== undefined) expect(Number.isInteger(ms) && ms >= 0).toBe(true);
    }
  });
});
