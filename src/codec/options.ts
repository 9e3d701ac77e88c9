/**
 * Options for the proto3 JSON codec. Defaults follow the proto3 JSON mapping
 * (https://protobuf.dev/programming-guides/json/): strict parsing, canonical output.
 */

/** How JSON is read into messages. */
export interface ReadOptions {
  /**
   * Skip object keys that name no field instead of failing. Off by default: the contract answers an
   * unknown body field with a 400 naming it (the mapping spec's "parsers should reject unknown fields").
   */
  readonly ignoreUnknownFields: boolean;
  /** Match enum names ignoring ASCII case. Off by default: the mapping spec uses the exact proto name. */
  readonly caseInsensitiveEnums: boolean;
  /**
   * The deepest allowed JSON nesting, counting every object and array (messages, maps, repeated fields,
   * Struct, ListValue); the root object is at depth 1. Bounds recursion on hostile input.
   */
  readonly maxDepth: number;
}

/** How messages are written as JSON. */
export interface WriteOptions {
  /**
   * Also write fields that hold their default value, following protobuf-go's EmitUnpopulated: fields
   * without presence print their default ("" 0 "0" false [] {} and the first enum name), unset singular
   * message fields (and proto2 optional scalars) print `null`, unset oneof members and unset proto3
   * `optional` fields are not printed.
   */
  readonly emitUnpopulated: boolean;
  /** Use the proto field names (`amount_minor`) instead of the JSON names (`amountMinor`). */
  readonly useProtoNames: boolean;
  /** Write enum values as numbers instead of names. */
  readonly enumsAsNumbers: boolean;
  /**
   * Write 64-bit integers as bare JSON numbers instead of strings. Lossy past 2^53 for JavaScript
   * readers; only for legacy clients that cannot handle the canonical string form.
   */
  readonly int64AsNumbers: boolean;
}

/** Strict reading: unknown fields are errors, enum names are case-sensitive, nesting up to 64. */
export const DEFAULT_READ_OPTIONS: ReadOptions = Object.freeze({
  ignoreUnknownFields: false,
  caseInsensitiveEnums: false,
  maxDepth: 64,
});

/** Canonical proto3 JSON output: defaults omitted, JSON names, enum names, int64 as strings. */
export const DEFAULT_WRITE_OPTIONS: WriteOptions = Object.freeze({
  emitUnpopulated: false,
  useProtoNames: false,
  enumsAsNumbers: false,
  int64AsNumbers: false,
});
