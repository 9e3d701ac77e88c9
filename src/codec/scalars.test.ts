import Long from 'long';
import { describe, expect, it } from 'vitest';
import { PathError } from './errors.js';
import { JsonNumberText } from './json-number.js';
import {
  bytesFromJson,
  bytesToBase64,
  doubleToJson,
  floatFromJson,
  floatToJson,
  int64ToString,
  intFromJson,
  intFromKeyText,
  type IntKind,
} from './scalars.js';

function failure(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof PathError) return err.description;
    throw err;
  }
  throw new Error('expected a failure');
}

const N = (text: string): JsonNumberText => new JsonNumberText(text);

describe('intFromJson (proto3 JSON: "Either numbers or strings are accepted")', () => {
  it.each<[IntKind, unknown, number | string]>([
    ['int32', 0, 0],
    ['int32', -0, 0],
    ['int32', '-0', 0],
    ['int32', 2147483647, 2147483647],
    ['int32', '-2147483648', -2147483648],
    ['int32', 1e3, 1000],
    ['int32', '1e3', 1000],
    ['int32', '2.0', 2],
    ['int32', N('1.00000000000000000e2'), 100],
    ['uint32', 4294967295, 4294967295],
    ['uint32', '4294967295', 4294967295],
    ['int64', '9223372036854775807', '9223372036854775807'],
    ['int64', '-9223372036854775808', '-9223372036854775808'],
    ['int64', N('9223372036854775807'), '9223372036854775807'],
    ['int64', N('-9223372036854775808'), '-9223372036854775808'],
    ['int64', 9007199254740993n.toString(), '9007199254740993'],
    ['int64', N('9007199254740993'), '9007199254740993'],
    ['int64', -0, '0'],
    ['int64', '-0', '0'],
    ['int64', 42, '42'],
    ['int64', '1e3', '1000'],
    ['int64', N('92233720368547758.07e2'), '9223372036854775807'],
    ['int64', 9.2e18, '9200000000000000000'],
    ['uint64', '18446744073709551615', '18446744073709551615'],
    ['uint64', N('18446744073709551615'), '18446744073709551615'],
    ['uint64', '0', '0'],
    ['uint64', '-0', '0'],
  ])('%s from %j → %j', (kind, input, expected) => {
    expect(intFromJson(input, kind)).toBe(expected);
  });

  it.each<[IntKind, unknown, string]>([
    ['int64', '12x', '"12x" is not a 64-bit integer'],
    ['int64', ' 1', '" 1" is not a 64-bit integer'],
    ['int64', '+1', '"+1" is not a 64-bit integer'],
    ['int64', '01', '"01" is not a 64-bit integer'],
    ['int64', '', '"" is not a 64-bit integer'],
    ['int64', 1.5, '1.5 is not a 64-bit integer: it has a fractional part'],
    ['int64', '1.5', '"1.5" is not a 64-bit integer: it has a fractional part'],
    ['int64', '1e-1', '"1e-1" is not a 64-bit integer: it has a fractional part'],
    ['int64', '9223372036854775808', '"9223372036854775808" is out of range for a 64-bit integer'],
    ['int64', N('-9223372036854775809'), '-9223372036854775809 is out of range for a 64-bit integer'],
    ['int64', 1e19, '10000000000000000000 is out of range for a 64-bit integer'],
    ['int64', '1e999999999', '"1e999999999" is out of range for a 64-bit integer'],
    ['int64', true, 'true is not a 64-bit integer'],
    ['int64', null, 'null is not a 64-bit integer'],
    ['int64', {}, 'an object is not a 64-bit integer'],
    ['uint64', '18446744073709551616', '"18446744073709551616" is out of range for an unsigned 64-bit integer'],
    ['uint64', '-1', '"-1" is out of range for an unsigned 64-bit integer'],
    ['uint64', -1, '-1 is out of range for an unsigned 64-bit integer'],
    ['int32', 2147483648, '2147483648 is out of range for a 32-bit integer'],
    ['int32', '-2147483649', '"-2147483649" is out of range for a 32-bit integer'],
    ['int32', 0.5, '0.5 is not a 32-bit integer: it has a fractional part'],
    ['int32', 'NaN', '"NaN" is not a 32-bit integer'],
    ['int32', Infinity, 'Infinity is not a 32-bit integer'],
    ['uint32', -1, '-1 is out of range for an unsigned 32-bit integer'],
    ['uint32', 4294967296, '4294967296 is out of range for an unsigned 32-bit integer'],
  ])('%s from %j fails', (kind, input, message) => {
    expect(failure(() => intFromJson(input, kind))).toBe(message);
  });

  it.each<[IntKind, string, number | string]>([
    ['int32', '-5', -5],
    ['int32', '+5', 5],
    ['int32', '007', 7],
    ['uint64', '18446744073709551615', '18446744073709551615'],
    ['int64', '-0', '0'],
  ])('map key text %s %j → %j', (kind, text, expected) => {
    expect(intFromKeyText(text, kind)).toBe(expected);
  });

  it.each(['1e3', '1.0', '', ' 1', 'x'])('map key text %j is rejected', (text) => {
    expect(() => intFromKeyText(text, 'int32')).toThrow(PathError);
  });
});

describe('floatFromJson', () => {
  it.each<[unknown, boolean, number]>([
    [1.5, false, 1.5],
    ['1.5', false, 1.5],
    ['NaN', false, NaN],
    ['Infinity', false, Infinity],
    ['-Infinity', true, -Infinity],
    [-0, false, -0],
    ['-0', false, -0],
    ['1e3', false, 1000],
    [N('0.12345678901234567890'), false, 0.12345678901234568],
    [3.4028234663852886e38, true, 3.4028234663852886e38],
    [1e300, false, 1e300],
  ])('%j (float32: %s) → %d', (input, single, expected) => {
    expect(Object.is(floatFromJson(input, single), expected)).toBe(true);
  });

  it.each<[unknown, boolean, string]>([
    ['nan', false, '"nan" is not a number'],
    ['1.5x', false, '"1.5x" is not a number'],
    ['', true, '"" is not a 32-bit float'],
    [true, false, 'true is not a number'],
    [1e39, true, '1e+39 is out of range for a 32-bit float'],
    [N('1e999'), false, '1e999 is out of range for a double'],
    ['1e999', false, '"1e999" is out of range for a double'],
  ])('%j (float32: %s) fails', (input, single, message) => {
    expect(failure(() => floatFromJson(input, single))).toBe(message);
  });

  it.each<[number, string]>([
    [0.1, '0.1'],
    [Math.fround(0.1), '0.1'],
    [Math.fround(3.14159), '3.14159'],
    [1e21, '1e+21'],
    [Math.fround(1e-7), '1e-7'],
    [NaN, '"NaN"'],
    [-Infinity, '"-Infinity"'],
    [-0, '-0'],
  ])('floatToJson(%d) → %s', (v, expected) => {
    expect(floatToJson(v)).toBe(expected);
  });

  it.each<[number, string]>([
    [0.1, '0.1'],
    [1e21, '1e+21'],
    [5e-7, '5e-7'],
    [NaN, '"NaN"'],
    [Infinity, '"Infinity"'],
    [-Infinity, '"-Infinity"'],
    [-0, '-0'],
    [123456789.125, '123456789.125'],
  ])('doubleToJson(%d) → %s', (v, expected) => {
    expect(doubleToJson(v)).toBe(expected);
  });
});

describe('bytes (standard base64 out; standard or URL-safe, padding optional, in)', () => {
  it.each<[string, number[]]>([
    ['', []],
    ['AA==', [0]],
    ['AA', [0]],
    ['AAE=', [0, 1]],
    ['AAE', [0, 1]],
    ['+/8=', [0xfb, 0xff]],
    ['-_8', [0xfb, 0xff]],
    ['-_8=', [0xfb, 0xff]],
    ['aGVsbG8gd29ybGQ=', [...Buffer.from('hello world')]],
  ])('%j', (text, bytes) => {
    expect([...bytesFromJson(text)]).toEqual(bytes);
  });

  it.each(['A', 'AAE==', 'A===', '+_8=', 'AA AA', 'AA=A', '*', '====='])('%j is rejected', (text) => {
    expect(failure(() => bytesFromJson(text))).toBe(`${JSON.stringify(text)} is not valid base64`);
  });

  it('rejects non-strings', () => {
    expect(failure(() => bytesFromJson(12))).toBe('12 is not a base64 string');
  });

  it.each<[unknown, string]>([
    [Buffer.from([0xfb, 0xff]), '+/8='],
    [new Uint8Array([0xfb, 0xff, 0]).subarray(0, 2), '+/8='],
    [new Uint8Array(0), ''],
    [[1, 2, 3], 'AQID'],
  ])('bytesToBase64(%j) → %s', (v, expected) => {
    expect(bytesToBase64(v)).toBe(expected);
  });
});

describe('int64ToString', () => {
  it.each<[unknown, boolean, string]>([
    [Long.fromString('-9223372036854775808'), false, '-9223372036854775808'],
    [Long.fromString('18446744073709551615', true), true, '18446744073709551615'],
    [Long.fromString('-1'), true, '18446744073709551615'],
    [Long.fromString('9007199254740993'), false, '9007199254740993'],
    [Long.fromInt(-5), false, '-5'],
    [Long.fromString('4294967296', true), true, '4294967296'],
    [{ low: -1, high: -1 }, false, '-1'],
    ['123', false, '123'],
    [7, false, '7'],
    [-0, false, '0'],
    [12345678901234567890n, true, '12345678901234567890'],
  ])('%s (unsigned %s) → %s', (v, unsigned, expected) => {
    expect(int64ToString(v, unsigned)).toBe(expected);
  });
});
