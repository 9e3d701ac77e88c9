import { describe, expect, it } from 'vitest';
import { PathError } from './errors.js';
import { fieldMaskPathFromJson, fieldMaskPathToJson, lowerCamel } from './names.js';
import { durationFromText, durationToText, timestampFromText, timestampToText } from './wkt.js';

function failure(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof PathError) return err.description;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('Timestamp (RFC 3339; "Z" and offsets in, always "Z" out with 0, 3, 6 or 9 digits)', () => {
  it.each<[string, string, number, string]>([
    ['1970-01-01T00:00:00Z', '0', 0, '1970-01-01T00:00:00Z'],
    ['1972-01-01T10:00:20.021Z', '63108020', 21_000_000, '1972-01-01T10:00:20.021Z'],
    ['2017-01-15T01:30:15.01Z', '1484443815', 10_000_000, '2017-01-15T01:30:15.010Z'],
    ['2017-01-15T01:30:15.000001Z', '1484443815', 1_000, '2017-01-15T01:30:15.000001Z'],
    ['2017-01-15T01:30:15.123456789Z', '1484443815', 123_456_789, '2017-01-15T01:30:15.123456789Z'],
    ['2017-01-15T01:30:15.1234567Z', '1484443815', 123_456_700, '2017-01-15T01:30:15.123456700Z'],
    ['2017-01-15t01:30:15z', '1484443815', 0, '2017-01-15T01:30:15Z'],
    ['2017-01-15T01:30:15.000Z', '1484443815', 0, '2017-01-15T01:30:15Z'],
    ['2017-01-14T20:30:15-05:00', '1484443815', 0, '2017-01-15T01:30:15Z'],
    ['2017-01-15T06:00:15+04:30', '1484443815', 0, '2017-01-15T01:30:15Z'],
    ['2024-02-29T23:59:59.5Z', '1709251199', 500_000_000, '2024-02-29T23:59:59.500Z'],
    ['1969-12-31T23:59:59.999999999Z', '-1', 999_999_999, '1969-12-31T23:59:59.999999999Z'],
    ['0001-01-01T00:00:00Z', '-62135596800', 0, '0001-01-01T00:00:00Z'],
    ['9999-12-31T23:59:59.999999999Z', '253402300799', 999_999_999, '9999-12-31T23:59:59.999999999Z'],
    ['0001-01-01T08:00:00+08:00', '-62135596800', 0, '0001-01-01T00:00:00Z'],
    ['2000-02-29T00:00:00Z', '951782400', 0, '2000-02-29T00:00:00Z'],
  ])('%s', (text, seconds, nanos, out) => {
    expect(timestampFromText(text)).toEqual({ seconds, nanos });
    expect(timestampToText(Number(seconds), nanos)).toBe(out);
  });

  it.each([
    '2017-01-15',
    '2017-01-15T01:30:15',
    '2017-01-15 01:30:15Z',
    '2017-01-15T01:30:15.Z',
    '2017-01-15T01:30:15.1234567890Z',
    '2017-01-15T01:30:15+0100',
    '2017-01-15T01:30:15Zjunk',
    '17-01-15T01:30:15Z',
    ' 2017-01-15T01:30:15Z',
    '2017-1-15T01:30:15Z',
  ])('%j is not an RFC 3339 timestamp', (text) => {
    expect(failure(() => timestampFromText(text))).toBe(`${JSON.stringify(text)} is not an RFC 3339 timestamp`);
  });

  it.each([
    '2017-13-01T00:00:00Z',
    '2017-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2017-04-31T00:00:00Z',
    '2017-01-15T24:00:00Z',
    '2017-01-15T23:60:00Z',
    '2017-01-15T23:59:60Z',
    '0000-12-31T00:00:00Z',
  ])('%j is not a valid timestamp', (text) => {
    expect(failure(() => timestampFromText(text))).toBe(`${JSON.stringify(text)} is not a valid timestamp`);
  });

  it.each(['0001-01-01T00:00:00+00:01', '9999-12-31T23:59:59-00:01'])('%j is outside the range', (text) => {
    expect(failure(() => timestampFromText(text))).toMatch(/is outside the Timestamp range/);
  });

  it.each<[number, number]>([
    [-62135596801, 0],
    [253402300800, 0],
    [0, -1],
    [0, 1_000_000_000],
    [0.5, 0],
  ])('seconds %d, nanos %d have no JSON form', (s, n) => {
    expect(failure(() => timestampToText(s, n))).toMatch(/outside the Timestamp range/);
  });
});

describe('Duration ("1.5s"; range ±315,576,000,000 s; 0, 3, 6 or 9 digits out)', () => {
  it.each<[string, string, number, string]>([
    ['0s', '0', 0, '0s'],
    ['1s', '1', 0, '1s'],
    ['1.5s', '1', 500_000_000, '1.500s'],
    ['-1.5s', '-1', -500_000_000, '-1.500s'],
    ['0.000000001s', '0', 1, '0.000000001s'],
    ['-0.000000001s', '0', -1, '-0.000000001s'],
    ['-0.5s', '0', -500_000_000, '-0.500s'],
    ['1.000001s', '1', 1_000, '1.000001s'],
    ['3.0s', '3', 0, '3s'],
    ['0010s', '10', 0, '10s'],
    ['315576000000s', '315576000000', 0, '315576000000s'],
    ['-315576000000.999999999s', '-315576000000', -999_999_999, '-315576000000.999999999s'],
  ])('%s', (text, seconds, nanos, out) => {
    expect(durationFromText(text)).toEqual({ seconds, nanos });
    expect(durationToText(Number(seconds), nanos)).toBe(out);
  });

  it.each(['1', '1.5', 's', '.5s', '1.s', '+1s', '1.5S', '1.1234567890s', '1e3s', ' 1s', '1 s', '--1s'])(
    '%j is not a duration',
    (text) => {
      expect(failure(() => durationFromText(text))).toMatch(/is not a duration/);
    },
  );

  it.each(['315576000001s', '-315576000001s', '99999999999999999999s'])('%j is outside the range', (text) => {
    expect(failure(() => durationFromText(text))).toMatch(/outside the Duration range/);
  });

  it.each<[number, number]>([
    [1, -1],
    [-1, 1],
    [315576000001, 0],
    [0, 1_000_000_000],
  ])('seconds %d, nanos %d have no JSON form', (s, n) => {
    expect(failure(() => durationToText(s, n))).toMatch(/not a valid Duration/);
  });
});

describe('names', () => {
  it.each([
    ['amount_minor', 'amountMinor'],
    ['foo_bar_baz', 'fooBarBaz'],
    ['foo__bar', 'fooBar'],
    ['foo_1', 'foo1'],
    ['_foo', 'Foo'],
    ['already', 'already'],
    ['f_double', 'fDouble'],
  ])('lowerCamel(%s) → %s', (name, json) => {
    expect(lowerCamel(name)).toBe(json);
  });

  it.each<[string, string | undefined]>([
    ['user.displayName', 'user.display_name'],
    ['a', 'a'],
    ['fooBarBaz.x1', 'foo_bar_baz.x1'],
    ['user.display_name', undefined],
    ['User', undefined],
    ['a..b', undefined],
    ['', undefined],
    ['1a', undefined],
  ])('FieldMask path in %j → %j', (json, proto) => {
    expect(fieldMaskPathFromJson(json)).toBe(proto);
  });

  it.each<[string, string | undefined]>([
    ['user.display_name', 'user.displayName'],
    ['a', 'a'],
    ['foo_bar_baz', 'fooBarBaz'],
    ['foo_1', undefined],
    ['fooBar', undefined],
    ['foo__bar', undefined],
    ['foo_', undefined],
  ])('FieldMask path out %j → %j', (proto, json) => {
    expect(fieldMaskPathToJson(proto)).toBe(json);
  });
});
