/**
 * The JSON codec facade: one instance per loaded Root (per config snapshot), holding the compiled
 * readers and writers in Maps it owns — no module-level state, so a reload builds a fresh codec.
 */
import type protobuf from 'protobufjs';
import { createBinaryCodec, type Msg } from './binary.js';
import { toCodecError } from './errors.js';
import type { ReadOptions, WriteOptions } from './options.js';
import { createTypeUrlResolver, type MessageTypes } from './descriptors.js';
import { createReader } from './read.js';
import { createWireJson } from './wire-json.js';
import { createWriter } from './write.js';

/** proto3 JSON ⇄ protobufjs plain objects ⇄ binary, for the message types of one Root. */
export interface JsonCodec {
  /** A parsed JSON value (from parseJson) → Msg for `type`. `at` prefixes error paths ('' at the root). */
  messageFromJson(type: protobuf.Type, json: unknown, opts: ReadOptions, at?: string): Msg;
  /** JSON for one field (used for `body: "field"`) → what to store at msg[field.name]
   *  (array for repeated, null-prototype object for maps, Msg for messages). */
  fieldFromJson(field: protobuf.Field, json: unknown, opts: ReadOptions, at: string): unknown;
  /** Text from a URL path variable or query parameter, for ONE value of `field` (callers loop for repeated):
   *  scalars (int64 kept as string, "true"/"false" for bool), enum names or numbers, bytes (base64 std or
   *  URL-safe), and message-typed well-known types in their JSON string form (Timestamp, Duration, FieldMask,
   *  the wrappers → {value}). For a map field it parses the VALUE type. Other message types → CodecError. */
  scalarFromText(field: protobuf.Field, text: string, opts: ReadOptions, at: string): unknown;
  /** Text of a map KEY (query `m[k]=v`) → the key as protobufjs stores it. */
  mapKeyFromText(field: protobuf.Field, text: string, at: string): string;
  /** Binary → Msg. Throws CodecError('', 'malformed protobuf …') on bad bytes. */
  decode(type: protobuf.Type, bytes: Uint8Array): Msg;
  /** Msg → binary. */
  encode(type: protobuf.Type, msg: Msg): Uint8Array;
  /**
   * Binary → JSON text in one pass, without building a Msg: the same text as
   * `messageToJson(type, decode(type, bytes), opts)` and the same CodecErrors (malformed bytes, values with
   * no JSON form). The response path's common case.
   */
  bytesToJson(type: protobuf.Type, bytes: Uint8Array, opts: WriteOptions): string;
  /**
   * `bytesToJson` for a response that may be large: the same string below 32 KiB of input; from there on
   * the UTF-8 bytes of the same text as Buffers, written out while the message is read, so neither the
   * whole text as a string nor the strings that build it are held at once (wire-json.ts `Spill`).
   */
  bytesToJsonChunks(type: protobuf.Type, bytes: Uint8Array, opts: WriteOptions): string | Buffer[];
  /** Msg (from decode or messageFromJson) → JSON text. */
  messageToJson(type: protobuf.Type, msg: Msg, opts: WriteOptions): string;
  /** One field's value (for `response_body: "field"`) → JSON text; `undefined` → the field's default JSON. */
  fieldToJson(field: protobuf.Field, value: unknown, opts: WriteOptions): string;
  /** A google.protobuf.Any given as (type URL, bytes) → its JSON text; unknown type → the base64 fallback. */
  anyToJson(typeUrl: string, value: Uint8Array, opts: WriteOptions): string;
}

/**
 * Builds a codec over a resolved Root or a schema store. Types are compiled on first use and cached. Any's
 * @type is looked up in `types`.
 *
 * Every method throws CodecError (with `field` set to the JSON path of the bad value) for data that cannot
 * be converted; nothing else is thrown except on a bug. JSON read errors name paths in the spelling the
 * user wrote; write errors (values with no JSON form) use the output spelling.
 */
export function createJsonCodec(types: protobuf.Root | MessageTypes): JsonCodec {
  const binary = createBinaryCodec();
  const typeFromUrl = createTypeUrlResolver(types);
  const reader = createReader(typeFromUrl, binary);
  const writer = createWriter(typeFromUrl, binary);
  const wire = createWireJson(writer, binary);

  /** Runs `f`, turning the internal PathError into a CodecError rooted at `at`. */
  const at = <T>(path: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw toCodecError(err, path);
    }
  };

  return Object.freeze({
    messageFromJson: (type, json, opts, path = '') => at(path, () => reader.message(type)(json, opts, 1) as Msg),
    fieldFromJson: (field, json, opts, path) => at(path, () => reader.field(field)(json, opts, 1)),
    scalarFromText: (field, text, opts, path) => at(path, () => reader.scalarFromText(field, text, opts)),
    mapKeyFromText: (field, text, path) => at(path, () => reader.mapKey(field, text)),
    decode: (type, bytes) => binary.decode(type, bytes),
    encode: (type, msg) => binary.encode(type, msg),
    bytesToJson: (type, bytes, opts) => at('', () => wire.bytesToJson(type, bytes, opts)),
    bytesToJsonChunks: (type, bytes, opts) => at('', () => wire.bytesToJsonChunks(type, bytes, opts)),
    messageToJson: (type, msg, opts) => at('', () => writer.message(type)(msg, opts, 1)),
    fieldToJson: (field, value, opts) => at('', () => writer.field(field, value, opts)),
    anyToJson: (typeUrl, value, opts) => at('', () => writer.any(typeUrl, value, opts, 1)),
  } satisfies JsonCodec);
}


