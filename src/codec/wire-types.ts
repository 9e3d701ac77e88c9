/**
 * Protobuf's wire types and field tags (https://protobuf.dev/programming-guides/encoding/#structure): every
 * field on the wire starts with a varint tag `(field_number << 3) | wire_type`, so `tag >>> 3` is the field
 * number and `tag & 7` the wire type.
 *
 * Plain numeric `const` exports, not an enum object or a lookup table: wire-json.ts compares wire types per
 * field on its hot path, and each comparison should stay one against a constant number, not a property read.
 * Wire types 6 and 7 do not exist; readers treat them as malformed input.
 */

/** int32, int64, uint32, uint64, sint32, sint64, bool, enum. */
export const VARINT = 0;
/** fixed64, sfixed64, double. */
export const I64 = 1;
/** Length-delimited: string, bytes, embedded messages, packed repeated fields. */
export const LEN = 2;
/** Group start (proto2, deprecated). */
export const SGROUP = 3;
/** Group end (proto2, deprecated). */
export const EGROUP = 4;
/** fixed32, sfixed32, float. */
export const I32 = 5;

/**
 * The tag of field number `field` with wire type `wire`, as an unsigned 32-bit number ready to be written as a
 * varint. Computed as `field * 8 + wire` so that it stays exact and non-negative for every legal field number
 * (1 to 2^29 − 1), where `field << 3` turns negative from 2^28. Does not check its arguments.
 */
export function tagOf(field: number, wire: number): number {
  return field * 8 + wire;
}
