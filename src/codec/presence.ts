/**
 * Field presence (protobuf.dev "Field Presence"): which fields count as set when they hold their default.
 *
 * Implicit-presence fields (proto3 singular scalars and enums outside a oneof and without `optional`) are
 * never serialized when they hold their default, in binary or JSON; explicit-presence fields (messages,
 * oneof members, proto3 `optional`, proto2 scalars) are, whatever their value.
 */
import protobuf from 'protobufjs';
import type { Field } from 'protobufjs';
import { int64IsZero, intKindOf } from './scalars.js';

/** Whether a singular field tracks presence explicitly. */
export function hasExplicitPresence(field: Field): boolean {
  // protobufjs's hasPresence misses proto3 message fields (it reads only the field_presence feature).
  return field.resolvedType instanceof protobuf.Type || field.partOf !== null || field.hasPresence;
}

/**
 * For an implicit-presence singular field: a test for "holds its default" (-0 and NaN are not defaults:
 * protobuf-go compares bits). For every other field: undefined.
 */
export function implicitDefaultTest(field: Field): ((v: unknown) => boolean) | undefined {
  if (field.repeated || field.map || hasExplicitPresence(field)) return undefined;
  return defaultTestOf(field);
}

/** The "holds its default" test for a scalar or enum field, whatever its presence. */
export function defaultTestOf(field: Field): (v: unknown) => boolean {
  if (field.resolvedType instanceof protobuf.Enum) return (v) => v === 0 || v === undefined || v === null;
  const kind = intKindOf(field.type);
  if (kind === 'int64' || kind === 'uint64') return int64IsZero;
  switch (field.type) {
    case 'double':
    case 'float':
      return (v) => v === undefined || v === null || (v === 0 && !Object.is(v, -0));
    case 'bool':
      return (v) => v === undefined || v === null || v === false;
    case 'string':
      return (v) => v === undefined || v === null || v === '';
    case 'bytes':
      return (v) => v === undefined || v === null || (v as { length?: number }).length === 0;
    default:
      return (v) => v === undefined || v === null || v === 0;
  }
}
