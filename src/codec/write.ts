/**
 * Msg → JSON text, following the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/).
 *
 * Writers are compiled once per message type (cached in Maps owned by one codec instance): a field table
 * with the quoted JSON and proto keys, the presence rule and a value writer per field. Text is built by
 * string concatenation, with no intermediate object and no JSON.stringify of the whole message.
 *
 * Accepted input: both `decode` output (protobufjs message instances: defaults on the prototype, int64 as
 * Long, bytes as Buffer, unknown enum numbers as numbers) and reader output (plain objects, int64 as
 * strings). Presence: fields with explicit presence (messages, oneof members, proto3 `optional`, proto2
 * scalars) count as set when they are own, non-null properties; implicit-presence fields when they differ
 * from their default.
 *
 * Failure: values with no JSON form (a Timestamp outside years 1–9999, a Duration whose seconds and nanos
 * disagree in sign, a non-finite Value number, a FieldMask path that does not survive the camelCase round
 * trip) throw PathError, turned into CodecError naming the path at the public API.
 */
import protobuf from 'protobufjs';
import type { Enum, Field, Type } from 'protobufjs';
import type { BinaryCodec, Msg } from './binary.js';
import { fieldName, structFamilyOf, valueTypeOf, type TypeUrlResolver } from './descriptors.js';
import { CodecError, entrySegment, fail, keySegment, withSegment } from './errors.js';
import { fieldMaskPathToJson, jsonNameOf } from './names.js';
import type { WriteOptions } from './options.js';
import { defaultTestOf, hasExplicitPresence } from './presence.js';
import {
  bytesToBase64,
  doubleToJson,
  floatToJson,
  int64ToString,
  intKindOf,
  jsonString,
} from './scalars.js';
import { WKT, WRAPPERS, durationToText, hasSpecialJson, timestampToText } from './wkt.js';

/** Writes one value as JSON text; `depth` counts enclosing messages (a guard against Any chains). */
export type ValueWriter = (value: unknown, opts: WriteOptions, depth: number) => string;

/**
 * Messages nested deeper than this are refused. Decoded messages are already bounded by protobufjs's
 * recursion limit (100), but each Any payload is decoded afresh, so a chain of Anys is bounded only here.
 */
const MAX_OUTPUT_DEPTH = 1000;

const enum Presence {
  /** proto3 scalars: written when not the default; the default under emitUnpopulated. */
  Implicit,
  /**
   * Messages, oneof members, proto3 `optional`, proto2 scalars: written when set. Under emitUnpopulated an
   * unset one prints `null`, except oneof members (real or synthetic), as protobuf-go does.
   */
  Explicit,
  Repeated,
  Map,
}

interface FieldWriter {
  readonly name: string;
  readonly jsonName: string;
  /** `"jsonName":` and `"proto_name":`, quoted once at compile time, and the same after a comma. */
  readonly jsonKey: string;
  readonly protoKey: string;
  readonly jsonKeyAfter: string;
  readonly protoKeyAfter: string;
  readonly presence: Presence;
  /** Part of a oneof, real or synthetic (proto3 `optional`): never printed when unset. */
  readonly oneofMember: boolean;
  /** Writes the whole field value (array, map or single value). */
  readonly write: ValueWriter;
  /** For implicit presence: whether the value is the field's default (so omitted). */
  readonly isDefault: (v: unknown) => boolean;
  /** The JSON of the field's default, for emitUnpopulated. */
  readonly defaultJson: (opts: WriteOptions) => string;
}

/** @private The compiled writers of one codec instance. */
export interface Writer {
  /** Writes a Msg of `type` (well-known types in their special forms); null/undefined as the empty message. */
  message(type: Type): ValueWriter;
  /** Writes the value of one field; undefined gives the field's default JSON. */
  field(field: Field, value: unknown, opts: WriteOptions): string;
  /** Writes an Any given as (type URL, payload bytes). */
  any(typeUrl: string, value: Uint8Array, opts: WriteOptions, depth: number): string;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** @private Compiles writers; Any payloads are resolved with `typeFromUrl` and decoded with `binary`. */
export function createWriter(typeFromUrl: TypeUrlResolver, binary: BinaryCodec): Writer {
  const messageWriters = new Map<Type, ValueWriter>();
  const structFamilies = new Map<Type, { struct: ValueWriter; value: ValueWriter; list: ValueWriter }>();

  const messageWriter = (type: Type): ValueWriter => {
    let w = messageWriters.get(type);
    if (w === undefined) {
      w = compileMessage(type);
      messageWriters.set(type, w);
    }
    return w;
  };

  const lazyMessage = (type: Type): ValueWriter => {
    let w: ValueWriter | undefined;
    return (v, opts, depth) => (w ??= messageWriter(type))(v, opts, depth);
  };

  // ---- one value ----

  const enumWriter = (e: Enum): ValueWriter => {
    if (e.fullName === WKT.nullValue) return () => 'null'; // protobuf-go writes null even with enum numbers
    const names = new Map<number, string>();
    for (const [name, num] of Object.entries(e.values)) if (!names.has(num)) names.set(num, JSON.stringify(name));
    return (v, opts) => {
      if (typeof v === 'string') return JSON.stringify(v);
      const n = Number(v);
      if (opts.enumsAsNumbers) return String(n);
      // Unknown numbers (an open enum decoded from a newer peer) are written as numbers, as the spec says.
      return names.get(n) ?? String(n);
    };
  };

  const scalarWriter = (protoType: string): ValueWriter => {
    const kind = intKindOf(protoType);
    if (kind === 'int64' || kind === 'uint64') {
      const unsigned = kind === 'uint64';
      return (v, opts) => (opts.int64AsNumbers ? int64ToString(v, unsigned) : `"${int64ToString(v, unsigned)}"`);
    }
    if (kind !== undefined) return (v) => String(Number(v));
    switch (protoType) {
      case 'double':
        return (v) => doubleToJson(Number(v));
      case 'float':
        return (v) => floatToJson(Number(v));
      case 'bool':
        return (v) => (v === true || v === 'true' ? 'true' : 'false');
      case 'string':
        return (v) => jsonString(String(v));
      case 'bytes':
        return (v) => `"${bytesToBase64(v)}"`;
      default:
        throw new Error(`codec: unsupported field type ${protoType}`);
    }
  };

  const elementWriter = (field: Field): ValueWriter => {
    const t = field.resolvedType;
    if (t instanceof protobuf.Type) return lazyMessage(t);
    if (t instanceof protobuf.Enum) return enumWriter(t);
    return scalarWriter(field.type);
  };

  /** The JSON of a single value's default: "" 0 "0" false, the first enum name, or null for messages. */
  const elementDefault = (field: Field): ((opts: WriteOptions) => string) => {
    const t = field.resolvedType;
    if (t instanceof protobuf.Type) return () => 'null';
    if (t instanceof protobuf.Enum) {
      if (t.fullName === WKT.nullValue) return () => 'null';
      const first = t.valuesById[0] ?? Object.keys(t.values)[0] ?? '';
      const num = t.values[first] ?? 0;
      return (opts) => (opts.enumsAsNumbers ? String(num) : JSON.stringify(first));
    }
    const kind = intKindOf(field.type);
    if (kind === 'int64' || kind === 'uint64') return (opts) => (opts.int64AsNumbers ? '0' : '"0"');
    switch (field.type) {
      case 'bool':
        return () => 'false';
      case 'string':
      case 'bytes':
        return () => '""';
      default:
        return () => '0';
    }
  };

  // ---- whole fields ----

  const compileField = (field: Field): FieldWriter => {
    const element = elementWriter(field);
    const jsonName = jsonNameOf(field);
    const common = {
      name: field.name,
      oneofMember: field.partOf !== null,
      jsonName,
      jsonKey: `${JSON.stringify(jsonName)}:`,
      protoKey: `${JSON.stringify(field.name)}:`,
      jsonKeyAfter: `,${JSON.stringify(jsonName)}:`,
      protoKeyAfter: `,${JSON.stringify(field.name)}:`,
    };
    if (field.map) {
      return {
        ...common,
        presence: Presence.Map,
        write: (v, opts, depth) => {
          const map = v as Record<string, unknown>;
          let out = '';
          let sep = ''; // hoisted separator: no per-entry test of `out` (RESULTS.md §8)
          let key = '';
          try {
            for (key of Object.keys(map)) {
              out += sep + jsonString(key) + ':' + element(map[key], opts, depth);
              sep = ',';
            }
          } catch (err) {
            throw withSegment(err, entrySegment(key));
          }
          return `{${out}}`;
        },
        isDefault: (v) => v === undefined || v === null || Object.keys(v as object).length === 0,
        defaultJson: () => '{}',
      };
    }
    if (field.repeated) {
      return {
        ...common,
        presence: Presence.Repeated,
        write: (v, opts, depth) => {
          const arr = v as readonly unknown[];
          let out = '';
          let i = 0;
          try {
            if (arr.length > 0) out = element(arr[0], opts, depth);
            for (i = 1; i < arr.length; i++) out += ',' + element(arr[i], opts, depth);
          } catch (err) {
            throw withSegment(err, `[${i}]`);
          }
          return `[${out}]`;
        },
        isDefault: (v) => v === undefined || v === null || (v as readonly unknown[]).length === 0,
        defaultJson: () => '[]',
      };
    }
    return {
      ...common,
      presence: hasExplicitPresence(field) ? Presence.Explicit : Presence.Implicit,
      write: element,
      isDefault: defaultTestOf(field),
      defaultJson: elementDefault(field),
    };
  };

  // ---- messages ----

  const compileFields = (type: Type): ((msg: Msg, opts: WriteOptions, depth: number) => string) => {
    const fields = type.fieldsArray.map(compileField);
    return (msg, opts, depth) => {
      let out = '';
      let current = '';
      try {
        for (const f of fields) {
          const v = msg[f.name];
          current = opts.useProtoNames ? f.name : f.jsonName;
          let text: string;
          switch (f.presence) {
            case Presence.Implicit:
            case Presence.Repeated:
            case Presence.Map:
              if (f.isDefault(v)) {
                if (!opts.emitUnpopulated) continue;
                text = f.defaultJson(opts);
              } else {
                text = f.write(v, opts, depth);
              }
              break;
            case Presence.Explicit:
              if (v === undefined || v === null || !hasOwn(msg, f.name)) {
                if (!opts.emitUnpopulated || f.oneofMember) continue;
                text = 'null';
              } else {
                text = f.write(v, opts, depth);
              }
              break;
          }
          if (out === '') out = (opts.useProtoNames ? f.protoKey : f.jsonKey) + text;
          else out += (opts.useProtoNames ? f.protoKeyAfter : f.jsonKeyAfter) + text;
        }
      } catch (err) {
        throw withSegment(err, keySegment(current));
      }
      return out;
    };
  };

  const compileMessage = (type: Type): ValueWriter => {
    const name = type.fullName;
    if (WRAPPERS.has(name)) {
      const inner = type.fieldsById[1]!;
      const write = elementWriter(inner);
      const dflt = elementDefault(inner);
      return (v, opts, depth) => {
        const value = (v as Msg | null | undefined)?.[inner.name];
        return value === undefined || value === null ? dflt(opts) : write(value, opts, depth);
      };
    }
    switch (name) {
      case WKT.timestamp:
      case WKT.duration: {
        const toText = name === WKT.timestamp ? timestampToText : durationToText;
        const seconds = fieldName(type, 1);
        const nanos = fieldName(type, 2);
        return (v) => {
          const m = (v ?? {}) as Msg;
          return `"${toText(Number(int64ToString(m[seconds] ?? 0, false)), Number(m[nanos] ?? 0))}"`;
        };
      }
      case WKT.fieldMask: {
        const pathsKey = fieldName(type, 1);
        return (v) => {
          const paths = ((v as Msg | null | undefined)?.[pathsKey] ?? []) as readonly string[];
          const json = paths.map((p) => fieldMaskPathToJson(p) ?? fail(`field mask path ${JSON.stringify(p)} has no lowerCamelCase JSON form`));
          return JSON.stringify(json.join(','));
        };
      }
      case WKT.struct:
      case WKT.value:
      case WKT.listValue: {
        const family = structWriters(valueTypeOf(type, WKT));
        return name === WKT.struct ? family.struct : name === WKT.value ? family.value : family.list;
      }
      case WKT.any: {
        const typeUrlKey = fieldName(type, 1);
        const valueKey = fieldName(type, 2);
        return (v, opts, depth) => {
          const m = (v ?? {}) as Msg;
          return writeAny(String(m[typeUrlKey] ?? ''), (m[valueKey] ?? new Uint8Array(0)) as Uint8Array, opts, depth);
        };
      }
      default: {
        const fields = compileFields(type);
        return (v, opts, depth) => {
          if (depth > MAX_OUTPUT_DEPTH) fail(`messages are nested more than ${MAX_OUTPUT_DEPTH} deep`);
          return `{${fields((v ?? {}) as Msg, opts, depth + 1)}}`;
        };
      }
    }
  };

  // ---- well-known types ----

  /** Struct → JSON object, ListValue → JSON array, Value → the JSON value of its kind. */
  const structWriters = (valueType: Type): { struct: ValueWriter; value: ValueWriter; list: ValueWriter } => {
    const cached = structFamilies.get(valueType);
    if (cached !== undefined) return cached;
    const k = structFamilyOf(valueType);

    const struct: ValueWriter = (v, opts, depth) => {
      const fields = ((v as Msg | null | undefined)?.[k.structFields] ?? {}) as Record<string, unknown>;
      let out = '';
      let key = '';
      try {
        let sep = '';
        for (key of Object.keys(fields)) {
          out += sep + jsonString(key) + ':' + value(fields[key], opts, depth + 1);
          sep = ',';
        }
      } catch (err) {
        throw withSegment(err, entrySegment(key));
      }
      return `{${out}}`;
    };

    const list: ValueWriter = (v, opts, depth) => {
      const values = ((v as Msg | null | undefined)?.[k.listValues] ?? []) as readonly unknown[];
      let out = '';
      let i = 0;
      try {
        for (; i < values.length; i++) out += `${i === 0 ? '' : ','}${value(values[i], opts, depth + 1)}`;
      } catch (err) {
        throw withSegment(err, `[${i}]`);
      }
      return `[${out}]`;
    };

    // A Value with no kind set (possible only from a peer that omitted it) is written as null rather than
    // failing the whole response; protobuf-go refuses it.
    const value: ValueWriter = (v, opts, depth) => {
      if (depth > MAX_OUTPUT_DEPTH) fail(`values are nested more than ${MAX_OUTPUT_DEPTH} deep`);
      const m = (v ?? {}) as Msg;
      const set = (key: string): boolean => m[key] !== undefined && m[key] !== null && hasOwn(m, key);
      if (set(k.nullValue)) return 'null';
      if (set(k.numberValue)) {
        const n = Number(m[k.numberValue]);
        if (!Number.isFinite(n)) fail(`google.protobuf.Value cannot hold ${n}: JSON numbers are finite`);
        return doubleToJson(n);
      }
      if (set(k.stringValue)) return jsonString(String(m[k.stringValue]));
      if (set(k.boolValue)) return m[k.boolValue] === true ? 'true' : 'false';
      if (set(k.structValue)) return struct(m[k.structValue], opts, depth);
      if (set(k.listValue)) return list(m[k.listValue], opts, depth);
      return 'null';
    };

    const family = { struct, value, list };
    structFamilies.set(valueType, family);
    return family;
  };

  /**
   * google.protobuf.Any: `{"@type": url, ...fields}`, or `{"@type": url, "value": <json>}` for well-known
   * types with a special form. A type not among the loaded protos, or a payload that does not decode as
   * it, falls back to `{"@type": url, "value": "<base64>"}` so an error response can always be rendered.
   */
  const writeAny = (url: string, bytes: Uint8Array, opts: WriteOptions, depth: number): string => {
    if (url === '' && bytes.length === 0) return '{}';
    const head = `"@type":${JSON.stringify(url)}`;
    const inner = typeFromUrl(url);
    let msg: Msg | undefined;
    if (inner !== undefined) {
      try {
        msg = binary.decode(inner, bytes);
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
      }
    }
    if (inner === undefined || msg === undefined) return `{${head},"value":"${bytesToBase64(bytes)}"}`;
    if (hasSpecialJson(inner.fullName)) {
      try {
        return `{${head},"value":${messageWriter(inner)(msg, opts, depth + 1)}}`;
      } catch (err) {
        throw withSegment(err, '.value');
      }
    }
    const body = messageWriter(inner)(msg, opts, depth + 1);
    return body === '{}' ? `{${head}}` : `{${head},${body.slice(1)}`;
  };

  const fieldWriters = new Map<Field, FieldWriter>();
  const fieldWriter = (field: Field): FieldWriter => {
    let w = fieldWriters.get(field);
    if (w === undefined) {
      w = compileField(field);
      fieldWriters.set(field, w);
    }
    return w;
  };

  return {
    message: messageWriter,
    field(field, value, opts) {
      const w = fieldWriter(field);
      if (value === undefined || value === null) {
        if (field.resolvedType instanceof protobuf.Type) return messageWriter(field.resolvedType)({}, opts, 1);
        return w.defaultJson(opts);
      }
      return w.write(value, opts, 1);
    },
    any: writeAny,
  };
}
