/**
 * The proto3 JSON ⇄ protobuf codec (https://protobuf.dev/programming-guides/json/).
 *
 * `Msg` is protobufjs's plain-object form, encodable by `Type.encode`: keys are proto field names
 * (keepCase); int64 as decimal strings (or Long from decode); bytes Uint8Array; enums numbers; maps
 * null-prototype objects keyed by the key's string form as protobufjs expects ("1", "true"; int64 keys as
 * decimal strings — `decode` converts protobufjs's internal long hashes); nested messages plain objects.
 */
export { CodecError } from './errors.js';
export { parseJson, JsonNumberText } from './parse-json.js';
export type { Msg } from './binary.js';
export { DEFAULT_READ_OPTIONS, DEFAULT_WRITE_OPTIONS } from './options.js';
export type { ReadOptions, WriteOptions } from './options.js';
export { createJsonCodec } from './codec.js';
export type { JsonCodec } from './codec.js';
