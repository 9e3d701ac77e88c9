// "Filled" messages for the real-world backend: every field of a message set to a value that is not its
// default, so the response exercises every field's JSON form. Nested messages down to MAX_DEPTH; repeated
// fields with 2 elements; maps with 1 entry; each oneof with its first member; well-known types with valid
// values (google.protobuf.Any packs the well-known types in turn). The values are chosen to catch the JSON
// mapping's traps: well-known types inside Any (their "value" form), int64 above 2^32 and uint64 above 2^53
// (strings), bytes whose base64 has '+' and '/', exact floats.
import { create, ScalarType } from '@bufbuild/protobuf';
import { anyPack, DurationSchema, FieldMaskSchema, Int64ValueSchema, isWrapperDesc, ListValueSchema, StructSchema, TimestampSchema, ValueSchema } from '@bufbuild/protobuf/wkt';

/** Depth of the deepest message filled (the top message is depth 0). */
export const MAX_DEPTH = 2;

/** A non-default value of a scalar type (bigint for the 64-bit ones, as @bufbuild/protobuf holds them). */
export function scalarValue(type, name) {
  switch (type) {
    case ScalarType.STRING:
      return `${name}-1`;
    case ScalarType.BYTES:
      return new Uint8Array([0xfb, 0xff, 0x01]);
    case ScalarType.BOOL:
      return true;
    case ScalarType.DOUBLE:
      return 1.5;
    case ScalarType.FLOAT:
      return 2.25;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return -7;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return 8;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return -1234567890123n;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return 9007199254740993n;
    default:
      throw new Error(`scalar type ${type}`);
  }
}

/** A map key of the key type (map keys are strings in @bufbuild/protobuf's init shape). */
function mapKey(type) {
  if (type === ScalarType.STRING) return 'key-1';
  if (type === ScalarType.BOOL) return 'true';
  return String(scalarValue(type, ''));
}

/** The first enum value whose number is not 0 (undefined if the enum has none). */
function enumValue(desc) {
  return desc.values.find((v) => v.number !== 0)?.number;
}

// What google.protobuf.Any fields hold, in turn: the well-known types, whose JSON inside an Any is
// {"@type": …, "value": <their JSON form>}, the mapping's special case.
const ANY_VALUES = [
  [DurationSchema, { seconds: 3n, nanos: 500000000 }],
  [FieldMaskSchema, { paths: ['display_name', 'labels.env'] }],
  [StructSchema, { fields: { s: { kind: { case: 'stringValue', value: 'v' } } } }],
  [ValueSchema, { kind: { case: 'listValue', value: { values: [{ kind: { case: 'numberValue', value: 2 } }, { kind: { case: 'nullValue', value: 0 } }] } } }],
  [Int64ValueSchema, { value: 9007199254740993n }],
  [TimestampSchema, { seconds: 1715937704n, nanos: 0 }],
  [ListValueSchema, { values: [{ kind: { case: 'boolValue', value: false } }] }],
];
let anyTurn = 0;

/** The next packed Any of ANY_VALUES. */
function packedAny() {
  const [schema, init] = ANY_VALUES[anyTurn++ % ANY_VALUES.length];
  return anyPack(schema, create(schema, init));
}

/**
 * Init values of the well-known types that have a JSON form of their own. `inField`: the value of a field,
 * where @bufbuild/protobuf holds a Struct as a plain JSON object.
 */
function wellKnown(desc, inField) {
  switch (desc.typeName) {
    case 'google.protobuf.Timestamp':
      return { seconds: 1715937704n, nanos: 123000000 };
    case 'google.protobuf.Duration':
      return { seconds: 3n, nanos: 500000000 };
    case 'google.protobuf.FieldMask':
      return { paths: ['display_name', 'labels.env'] };
    case 'google.protobuf.Struct':
      if (inField) return { s: 'v', n: 1.5, b: true };
      return { fields: { s: { kind: { case: 'stringValue', value: 'v' } }, n: { kind: { case: 'numberValue', value: 1.5 } }, b: { kind: { case: 'boolValue', value: true } } } };
    case 'google.protobuf.Value':
      return { kind: { case: 'stringValue', value: 'v' } };
    case 'google.protobuf.ListValue':
      return { values: [{ kind: { case: 'numberValue', value: 2 } }, { kind: { case: 'stringValue', value: 'x' } }] };
    case 'google.protobuf.Empty':
      return {};
    case 'google.protobuf.Any':
      return packedAny();
    default:
      if (isWrapperDesc(desc)) return { value: scalarValue(desc.fields[0].scalar, 'wrapped') };
      return undefined;
  }
}

/** The init value of one element (a list item, a map value, or a singular field) of `kind`. */
function elementValue(kind, f, depth, unboxWrapper) {
  if (kind === 'scalar') return scalarValue(f.scalar, f.name);
  if (kind === 'enum') return enumValue(f.enum);
  const wk = wellKnown(f.message, true);
  if (wk !== undefined) return unboxWrapper && isWrapperDesc(f.message) ? wk.value : wk;
  return depth < MAX_DEPTH ? fillInit(f.message, depth + 1) : undefined;
}

/** The init object of a filled `desc` at `depth`. */
function fillInit(desc, depth) {
  const init = {};
  const seenOneofs = new Set();
  for (const f of desc.fields) {
    // A oneof (proto3 `optional` ones included) gets its first member only.
    if (f.oneof) {
      if (seenOneofs.has(f.oneof)) continue;
      const v = elementValue(f.fieldKind, f, depth, false);
      if (v === undefined) continue;
      seenOneofs.add(f.oneof);
      init[f.oneof.localName] = { case: f.localName, value: f.fieldKind === 'message' ? create(f.message, v) : v };
      continue;
    }
    let v;
    if (f.fieldKind === 'list') {
      const one = elementValue(f.listKind, f, depth, false);
      v = one === undefined ? undefined : [one, one];
    } else if (f.fieldKind === 'map') {
      const one = elementValue(f.mapKind, f, depth, false);
      v = one === undefined ? undefined : { [mapKey(f.mapKey)]: one };
    } else {
      // @bufbuild/protobuf holds a singular wrapper-typed field as its unboxed value.
      v = elementValue(f.fieldKind, f, depth, true);
    }
    if (v !== undefined) init[f.localName] = v;
  }
  return init;
}

/** A filled message of `desc` (a DescMessage). */
export function fillMessage(desc) {
  const wk = wellKnown(desc, false);
  return create(desc, wk ?? fillInit(desc, 0));
}
