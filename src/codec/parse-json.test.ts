import { describe, expect, it } from 'vitest';
import { CodecError } from './errors.js';
import { JsonNumberText } from './json-number.js';
import { parseJson, parseJsonPrecise } from './parse-json.js';

/** Replaces JsonNumberText by `{n: text}` so results can be compared structurally. */
function plain(v: unknown): unknown {
  if (v instanceof JsonNumberText) return { n: v.text };
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: plain((v as Record<string, unknown>)[k]), enumerable: true });
    return out;
  }
  return v;
}

function errorOf(f: () => unknown): CodecError {
  try {
    f();
  } catch (err) {
    if (err instanceof CodecError) return err;
    throw err;
  }
  throw new Error('expected a CodecError');
}

describe('parseJson', () => {
  it.each([
    ['{}', {}],
    ['[]', []],
    [' {"a" : [1, -2.5, 1e3, true, false, null, "x\\n\\u00e9\\ud83d\\ude00"]} ', { a: [1, -2.5, { n: '1e3' }, true, false, null, 'x\né😀'] }],
    ['123456789012345', 123456789012345],
    ['1234567890123456', { n: '1234567890123456' }],
    ['9223372036854775807', { n: '9223372036854775807' }],
    ['-9223372036854775808', { n: '-9223372036854775808' }],
    ['18446744073709551615', { n: '18446744073709551615' }],
    ['0.1234567890123456', { n: '0.1234567890123456' }],
    ['123456789012345e4', { n: '123456789012345e4' }],
    ['"12345678901234567890"', '12345678901234567890'],
    ['{"a":1,"a":2}', { a: 2 }],
    ['{"a":12345678901234567890,"a":2}', { a: 2 }],
  ])('%s', (text, expected) => {
    expect(plain(parseJson(text, 64))).toEqual(expected);
    expect(plain(parseJsonPrecise(text, 64))).toEqual(expected);
  });

  // Both paths (JSON.parse after the scan, and the precise parser) must agree on every document the scan
  // lets through to JSON.parse.
  it.each([
    '{"a":1,"b":[true,false,null],"c":{"d":"e\\"f\\\\"}}',
    '[0,-0,1.5,-1.25e-2,123456789012345,"9223372036854775807"]',
    '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}',
    '{"k":1,"k":3}',
    '"\\u0000\\t\\b\\f\\r\\/"',
  ])('JSON.parse path and precise path agree: %s', (text) => {
    expect(plain(parseJsonPrecise(text, 64))).toEqual(plain(parseJson(text, 64)));
  });

  it.each([
    ['', 0],
    ['{', 1],
    ['{"a":}', 5],
    ['{"a":1,}', 7],
    ['[1,]', 3],
    ['[1 2]', 3],
    ['01', 1],
    ['1.', 1],
    ['-', 0],
    ['"abc', 4],
    ['"a\\x"', 2],
    ['"a\u0001"', 2],
    ['{"a":1} x', 8],
    ['nul', 0],
    ['{a:1}', 1],
    ['[12345678901234567890,]', 22],
  ])('malformed %j reports the position', (text, pos) => {
    for (const parse of [parseJson, parseJsonPrecise]) {
      const err = errorOf(() => parse(text, 64));
      expect(err.field).toBe('');
      expect(err.message).toMatch(new RegExp(`^malformed JSON at position ${pos}: `));
    }
  });

  it.each([
    ['arrays', (n: number) => '['.repeat(n) + ']'.repeat(n)],
    ['objects', (n: number) => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1)],
    ['objects, precise path', (n: number) => '{"a":'.repeat(n - 1) + '{"n":12345678901234567}' + '}'.repeat(n - 1)],
  ])('depth limit on %s: 64 levels pass, 65 fail', (_name, make) => {
    expect(() => parseJson(make(64), 64)).not.toThrow();
    expect(errorOf(() => parseJson(make(65), 64)).message).toBe('JSON nesting exceeds the maximum depth of 64');
    expect(errorOf(() => parseJsonPrecise(make(65), 64)).message).toBe('JSON nesting exceeds the maximum depth of 64');
  });

  it('keeps __proto__ as an own key on both paths and never pollutes', () => {
    for (const text of ['{"__proto__":{"polluted":true}}', '{"__proto__":{"polluted":true},"n":12345678901234567890}']) {
      const v = parseJson(text, 64) as Record<string, unknown>;
      expect(Object.keys(v)).toContain('__proto__');
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    }
  });

  it('ignores brackets and digits inside strings when scanning', () => {
    expect(parseJson('{"s":"[[[[ 12345678901234567890 ]]]] \\" {"}', 2)).toEqual({ s: '[[[[ 12345678901234567890 ]]]] " {' });
  });
});
