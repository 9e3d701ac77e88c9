/**
 * wire-types.ts against the encoding guide (protobuf.dev/programming-guides/encoding/#structure): the wire
 * type numbers, and tags as the guide spells them out, up to the largest field number.
 */
import { describe, expect, it } from 'vitest';
import { EGROUP, I32, I64, LEN, SGROUP, VARINT, tagOf } from './wire-types.js';

describe('protobuf wire types', () => {
  it('are numbered as in the encoding guide', () => {
    expect({ VARINT, I64, LEN, SGROUP, EGROUP, I32 }).toEqual({ VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 });
  });
});

describe('tagOf', () => {
  it.each([
    // The guide's examples: field 1 varint is 0x08, field 2 LEN is 0x12.
    [1, VARINT, 0x08],
    [2, LEN, 0x12],
    [1, LEN, 0x0a],
    [15, I32, 0x7d],
    // 2^28 and up: `field << 3` would be negative here.
    [2 ** 28, VARINT, 2 ** 31],
    [2 ** 29 - 1, I32, 2 ** 32 - 3],
  ])('field %i, wire type %i → %i', (field, wire, tag) => {
    expect(tagOf(field, wire)).toBe(tag);
    expect(tag >>> 3).toBe(field);
    expect(tag & 7).toBe(wire);
  });
});
