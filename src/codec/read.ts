/**
 * JSON value → Msg, following the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/).
 *
 * Readers are compiled once per message type and field (cached in Maps owned by one codec instance): a
 * message reader holds a table from both spellings of every field name (JSON name and proto name) to a
 * precomputed value reader, so a request does lookups, not reflection.
 *
 * Failure: readers throw PathError (errors.ts); every container prepends its own path segment while the
 * error unwinds, and the public API turns it into a CodecError.
 *
 * Hardening: the output holds only keys taken from descriptors; map and Struct entries go into
 * null-prototype objects, so `__proto__`, `constructor` and `prototype` are plain keys there and unknown
 * fields everywhere else. Depth is bounded by `ReadOptions.maxDepth`, counting every JSON object and array.
 */
import protobuf from 'protobufjs';
import type { Enum, Field, Type } from 'protobufjs';
import type { BinaryCodec, Msg } from './binary.js';
import { fieldName, mapKeyTypeOf, structFamilyOf, valueTypeOf, type TypeUrlResolver } from './descriptors.js';
import { CodecError, PathError, entrySegment, fail, keySegment, show, withSegment } from './errors.js';
import { JsonNumberText } from './json-number.js';
import { fieldMaskPathFromJson, jsonNameOf } from './names.js';
import type { ReadOptions } from './options.js';
import {
  boolFromJson,
  bytesFromJson,
  floatFromJson,
  intFromJson,
  intFromKeyText,
  intKindOf,
  isWellFormed,
  mapKeyFromString,
  stringFromJson,
} from './scalars.js';
import { WKT, WRAPPERS, durationFromText, hasSpecialJson, timestampFromText } from './wkt.js';

/** Reads one JSON value at nesting `depth` (the depth it has if it is an object or array). */
export type ValueReader = (json: unknown, opts: ReadOptions, depth: number) => unknown;

/** Reads a JSON object as the fields of a message, optionally skipping one key (Any's "@type"). */
type FieldsReader = (json: unknown, opts: ReadOptions, depth: number, skip?: string) => Msg;

/** One entry of a message's field table. */
interface FieldReader {
  /** The Msg key: the proto field name (protobufjs keepCase form). */
  readonly name: string;
  /** The real oneof the field belongs to; undefined for proto3 `optional` (a synthetic oneof). */
  readonly oneof: string | undefined;
  /** The whole field (array, map or single value); undefined means "leave unset" (JSON null). */
  readonly read: ValueReader;
  /** The name is also a member of Object.prototype (`constructor`, `__proto__`, `toString`, …). */
  readonly inherited: boolean;
  /** This field's bit in a per-object "already set" mask, or 0 for the 32nd field on (tested on the Msg). */
  readonly bit: number;
}

/** @private The compiled readers of one codec instance. */
export interface Reader {
  /** Reads a JSON value as a message of `type` (well-known types in their special forms). */
  message(type: Type): ValueReader;
  /** Reads a JSON value as the whole of `field`: an array, a null-prototype map, a Msg or a scalar. */
  field(field: Field): ValueReader;
  /** One value of `field` from URL text (see JsonCodec.scalarFromText). */
  scalarFromText(field: Field, text: string, opts: ReadOptions): unknown;
  /** A map key of `field` from text, in protobufjs's key form. */
  mapKey(field: Field, text: string): string;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumberText);
}

function checkDepth(depth: number, opts: ReadOptions): void {
  if (depth > opts.maxDepth) fail(`nesting exceeds the maximum depth of ${opts.maxDepth}`);
}

/** A fresh object without a prototype: for map and Struct entries, whose keys are user data. */
function dict(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

/** @private Compiles readers; Any's "@type" is resolved with `typeFromUrl`, its payload encoded with `binary`. */
export function createReader(typeFromUrl: TypeUrlResolver, binary: BinaryCodec): Reader {
  const messageReaders = new Map<Type, ValueReader>();
  const fieldsReaders = new Map<Type, FieldsReader>();
  /** Map fields' readers, by field (the others are shared by element: fieldReader). */
  const mapReaders = new Map<Field, ValueReader>();
  const enumNames = new Map<Enum, ReadonlyMap<string, number>>();
  const enumNamesFolded = new Map<Enum, ReadonlyMap<string, number>>();
  const structFamilies = new Map<Type, { struct: ValueReader; value: ValueReader; list: ValueReader }>();

  const messageReader = (type: Type): ValueReader => {
    let r = messageReaders.get(type);
    if (r === undefined) {
      r = compileMessage(type);
      messageReaders.set(type, r);
    }
    return r;
  };

  /** A reader that compiles `type` on first call, so recursive types compile lazily. */
  const lazyMessage = (type: Type): ValueReader => {
    let r: ValueReader | undefined;
    return (json, opts, depth) => (r ??= messageReader(type))(json, opts, depth);
  };

  const fieldsReader = (type: Type): FieldsReader => {
    let r = fieldsReaders.get(type);
    if (r === undefined) {
      r = compileFields(type);
      fieldsReaders.set(type, r);
    }
    return r;
  };

  // ---- enums ----

  const namesOf = (e: Enum, folded: boolean): ReadonlyMap<string, number> => {
    const cache = folded ? enumNamesFolded : enumNames;
    let names = cache.get(e);
    if (names === undefined) {
      const m = new Map<string, number>();
      for (const [name, num] of Object.entries(e.values)) {
        const key = folded ? name.toLowerCase() : name;
        if (!m.has(key)) m.set(key, num);
      }
      names = m;
      cache.set(e, names);
    }
    return names;
  };

  const enumFromName = (e: Enum, name: string, opts: ReadOptions): number => {
    const n = opts.caseInsensitiveEnums ? namesOf(e, true).get(name.toLowerCase()) : namesOf(e, false).get(name);
    if (n === undefined) return fail(`${show(name)} is not a value of enum ${e.fullName.slice(1)}`);
    return n;
  };

  /** Names or numbers in (open enums take unknown numbers, as proto3 requires); NullValue also takes null. */
  const enumReader = (e: Enum): ValueReader => {
    const isNull = e.fullName === WKT.nullValue;
    return (json, opts) => {
      if (typeof json === 'string') return enumFromName(e, json, opts);
      if (json === null && isNull) return 0;
      if (typeof json === 'number' || json instanceof JsonNumberText) return intFromJson(json, 'int32');
      return fail(`${show(json)} is not a value of enum ${e.fullName.slice(1)}`);
    };
  };

  // ---- one value of a field ----

  /** What a field's values are read as: its message or enum type, or its scalar type's name. */
  const elementOf = (field: Field): Type | Enum | string => {
    const t = field.resolvedType;
    return t instanceof protobuf.Type || t instanceof protobuf.Enum ? t : field.type;
  };

  /**
   * Readers that depend only on the element, shared by every field of that element (by kind: singular or
   * repeated). Made per field, every field of every compiled type kept its own closures and cache entry for
   * the process's life; a large API set has thousands.
   */
  const elementReaders = new Map<Type | Enum | string, ValueReader>();
  const singularReaders = new Map<Type | Enum | string, ValueReader>();
  const repeatedReaders = new Map<Type | Enum | string, ValueReader>();

  /** Reads one element of `field` (ignoring repeated/map): a scalar, an enum value or a message. */
  const elementReader = (field: Field): ValueReader => {
    const key = elementOf(field);
    let r = elementReaders.get(key);
    if (r === undefined) {
      r = key instanceof protobuf.Type ? lazyMessage(key) : key instanceof protobuf.Enum ? enumReader(key) : scalarReader(key);
      elementReaders.set(key, r);
    }
    return r;
  };

  const scalarReader = (protoType: string): ValueReader => {
    const kind = intKindOf(protoType);
    if (kind !== undefined) return (json) => intFromJson(json, kind);
    switch (protoType) {
      case 'double':
        return (json) => floatFromJson(json, false);
      case 'float':
        return (json) => floatFromJson(json, true);
      case 'bool':
        return boolFromJson;
      case 'string':
        return stringFromJson;
      case 'bytes':
        return bytesFromJson;
      default:
        throw new Error(`codec: unsupported field type ${protoType}`);
    }
  };

  /** Whether JSON null is a value (not "unset") for this element type: Value and NullValue only. */
  const nullIsValue = (field: Field): boolean =>
    field.resolvedType !== null && (field.resolvedType.fullName === WKT.value || field.resolvedType.fullName === WKT.nullValue);

  // ---- whole fields ----

  /** The reader of a whole field, compiled once per element and kind (per field for map fields). */
  const fieldReader = (field: Field): ValueReader => {
    if (field.map) {
      let m = mapReaders.get(field);
      if (m === undefined) mapReaders.set(field, (m = compileMapField(field)));
      return m;
    }
    const key = elementOf(field);
    const cache = field.repeated ? repeatedReaders : singularReaders;
    let r = cache.get(key);
    if (r === undefined) {
      r = field.repeated ? compileRepeated(field) : compileSingular(field);
      cache.set(key, r);
    }
    return r;
  };

  const compileMapField = (field: Field): ValueReader => {
    const element = elementReader(field);
    const nullable = nullIsValue(field);
    const keyType = mapKeyTypeOf(field);
    return (json, opts, depth) => {
      if (json === null) return undefined;
      if (!isObject(json)) return fail(`${show(json)} is not a JSON object (map field)`);
      checkDepth(depth, opts);
      const out = dict();
      let key = '';
      try {
        for (key of Object.keys(json)) {
          const k = mapKeyFromString(keyType, key);
          if (k in out) fail(`duplicate map key (${show(k)} was already given)`);
          const v = json[key];
          if (v === null && !nullable) fail('null is not a valid map value');
          out[k] = element(v, opts, depth + 1);
        }
      } catch (err) {
        throw withSegment(err, entrySegment(key));
      }
      return out;
    };
  };

  /** A repeated field's reader; it depends only on the element (see singularReaders). */
  const compileRepeated = (field: Field): ValueReader => {
    const element = elementReader(field);
    const nullable = nullIsValue(field);
    return (json, opts, depth) => {
      if (json === null) return undefined;
      if (!Array.isArray(json)) return fail(`${show(json)} is not a JSON array (repeated field)`);
      checkDepth(depth, opts);
      const n = json.length;
      const out: unknown[] = [];
      let i = 0;
      try {
        for (; i < n; i++) {
          const v: unknown = json[i];
          if (v === null && !nullable) fail('null is not a valid element of a repeated field');
          out.push(element(v, opts, depth + 1));
        }
      } catch (err) {
        throw withSegment(err, `[${i}]`);
      }
      return out;
    };
  };

  /** A singular field's reader; it depends only on the element (see singularReaders). */
  const compileSingular = (field: Field): ValueReader => {
    const element = elementReader(field);
    const nullable = nullIsValue(field);
    // The mapping: "null is accepted for all field types and treated as the default value", except that
    // for google.protobuf.Value null is the NullValue kind (and for NullValue itself, its only value).
    if (nullable) return element;
    return (json, opts, depth) => (json === null ? undefined : element(json, opts, depth));
  };

  // ---- messages ----

  const compileFields = (type: Type): FieldsReader => {
    const table = new Map<string, FieldReader>();
    const entries = type.fieldsArray.map((f, i) => {
      const oneof = f.partOf !== null && !f.partOf.name.startsWith('_') ? f.partOf.name : undefined;
      // Names that Object.prototype also has need an own-property test; others a cheaper load.
      const entry: FieldReader = {
        name: f.name,
        oneof,
        read: fieldReader(f),
        inherited: f.name in Object.prototype,
        // A bit test instead of a property load per key: the loads are megamorphic (every field name).
        bit: i < 31 ? 1 << i : 0,
      };
      return [f, entry] as const;
    });
    for (const [f, entry] of entries) table.set(jsonNameOf(f), entry);
    for (const [f, entry] of entries) if (!table.has(f.name)) table.set(f.name, entry);
    const typeName = type.fullName.slice(1);

    return (json, opts, depth, skip) => {
      if (!isObject(json)) return fail(`${show(json)} is not a JSON object (${typeName})`);
      checkDepth(depth, opts);
      const msg: Msg = {};
      let oneofs: Map<string, string> | undefined;
      let seen = 0;
      let key = '';
      try {
        // for-in, not Object.keys: no array per object. The inputs are JSON objects (from parseJson or
        // JSON.parse), which have no enumerable inherited keys.
        for (key in json) {
          const f = table.get(key);
          if (f === undefined) {
            if (key === skip || opts.ignoreUnknownFields) continue;
            fail(`unknown field: ${typeName} has no field named ${JSON.stringify(key)}`);
          }
          const value = f.read(json[key], opts, depth + 1);
          if (value === undefined) continue;
          if (f.bit !== 0 ? (seen & f.bit) !== 0 : f.inherited ? hasOwn(msg, f.name) : msg[f.name] !== undefined) {
            fail(`field ${f.name} is given twice (by its JSON name and its proto name)`);
          }
          seen |= f.bit;
          if (f.oneof !== undefined) {
            oneofs ??= new Map();
            const other = oneofs.get(f.oneof);
            if (other !== undefined) fail(`oneof ${f.oneof} already has ${JSON.stringify(other)} set; give only one of its fields`);
            oneofs.set(f.oneof, key);
          }
          if (f.inherited) {
            // `__proto__` would set the prototype, and the others would shadow Object.prototype members
            // by assignment anyway; defineProperty keeps all of them plain own data properties.
            Object.defineProperty(msg, f.name, { value, writable: true, enumerable: true, configurable: true });
          } else {
            msg[f.name] = value;
          }
        }
      } catch (err) {
        throw withSegment(err, keySegment(key));
      }
      return msg;
    };
  };

  const compileMessage = (type: Type): ValueReader => {
    const name = type.fullName;
    if (WRAPPERS.has(name)) {
      const valueKey = fieldName(type, 1);
      const inner = elementReader(type.fieldsById[1]!);
      return (json, opts, depth) => ({ [valueKey]: inner(json, opts, depth) });
    }
    switch (name) {
      case WKT.timestamp:
      case WKT.duration: {
        const fromText = name === WKT.timestamp ? timestampFromText : durationFromText;
        const what = name === WKT.timestamp ? 'an RFC 3339 timestamp string' : 'a duration string such as "1.5s"';
        const seconds = fieldName(type, 1);
        const nanos = fieldName(type, 2);
        return (json) => {
          const t = fromText(typeof json === 'string' ? json : fail(`${show(json)} is not ${what}`));
          return { [seconds]: t.seconds, [nanos]: t.nanos };
        };
      }
      case WKT.fieldMask:
        return fieldMaskReader(fieldName(type, 1));
      case WKT.struct:
      case WKT.value:
      case WKT.listValue: {
        const family = structReaders(valueTypeOf(type, WKT));
        return name === WKT.struct ? family.struct : name === WKT.value ? family.value : family.list;
      }
      case WKT.any:
        return anyReader(fieldName(type, 1), fieldName(type, 2));
      default:
        // The fields reader itself (its optional `skip` stays unset): one call less per message.
        return fieldsReader(type);
    }
  };

  // ---- well-known types with special JSON forms ----

  /** google.protobuf.FieldMask: one string, paths joined by commas, each path in lowerCamelCase. */
  const fieldMaskReader = (pathsKey: string): ValueReader => (json) => {
    if (typeof json !== 'string') return fail(`${show(json)} is not a field mask string such as "user.displayName,photo"`);
    if (json === '') return { [pathsKey]: [] };
    const paths = json.split(',').map((p) => {
      const proto = fieldMaskPathFromJson(p);
      return proto ?? fail(`${show(p)} is not a lowerCamelCase field path (in field mask ${show(json)})`);
    });
    return { [pathsKey]: paths };
  };

  /** Struct ↔ JSON object, ListValue ↔ JSON array, Value ↔ any JSON value (null is NullValue). */
  const structReaders = (valueType: Type): { struct: ValueReader; value: ValueReader; list: ValueReader } => {
    const cached = structFamilies.get(valueType);
    if (cached !== undefined) return cached;
    const k = structFamilyOf(valueType);

    const readStructFields = (json: unknown, opts: ReadOptions, depth: number): Record<string, unknown> => {
      if (!isObject(json)) return fail(`${show(json)} is not a JSON object (google.protobuf.Struct)`);
      checkDepth(depth, opts);
      const fields = dict();
      let key = '';
      try {
        for (key of Object.keys(json)) {
          if (!isWellFormed(key)) fail(`the key contains a lone UTF-16 surrogate, which has no UTF-8 form`);
          fields[key] = value(json[key], opts, depth + 1);
        }
      } catch (err) {
        throw withSegment(err, entrySegment(key));
      }
      return fields;
    };

    const readListValues = (json: unknown, opts: ReadOptions, depth: number): unknown[] => {
      if (!Array.isArray(json)) return fail(`${show(json)} is not a JSON array (google.protobuf.ListValue)`);
      checkDepth(depth, opts);
      const values: unknown[] = [];
      let i = 0;
      try {
        for (; i < json.length; i++) values.push(value(json[i], opts, depth + 1));
      } catch (err) {
        throw withSegment(err, `[${i}]`);
      }
      return values;
    };

    const value: ValueReader = (json, opts, depth) => {
      if (json === null) return { [k.nullValue]: 0 };
      switch (typeof json) {
        case 'boolean':
          return { [k.boolValue]: json };
        case 'string':
          return { [k.stringValue]: stringFromJson(json) };
        case 'number':
          return { [k.numberValue]: finite(json, json) };
        default:
          if (json instanceof JsonNumberText) return { [k.numberValue]: finite(json.toNumber(), json) };
          if (Array.isArray(json)) return { [k.listValue]: { [k.listValues]: readListValues(json, opts, depth) } };
          if (isObject(json)) return { [k.structValue]: { [k.structFields]: readStructFields(json, opts, depth) } };
          return fail(`${show(json)} is not a JSON value`);
      }
    };

    const family = {
      struct: (json: unknown, opts: ReadOptions, depth: number) => ({ [k.structFields]: readStructFields(json, opts, depth) }),
      value,
      list: (json: unknown, opts: ReadOptions, depth: number) => ({ [k.listValues]: readListValues(json, opts, depth) }),
    };
    structFamilies.set(valueType, family);
    return family;
  };

  const finite = (n: number, shown: unknown): number =>
    Number.isFinite(n) ? n : fail(`${show(shown)} is out of range for a double`);

  /**
   * google.protobuf.Any: `{"@type": url, ...fields}`, or `{"@type": url, "value": <json>}` when the payload
   * is a well-known type with a special JSON form. `{}` is the empty Any. An unknown type is an error.
   */
  const anyReader = (typeUrlKey: string, valueKey: string): ValueReader => (json, opts, depth) => {
    if (!isObject(json)) return fail(`${show(json)} is not a JSON object (google.protobuf.Any)`);
    checkDepth(depth, opts);
    if (!hasOwn(json, '@type')) {
      if (Object.keys(json).length === 0) return {};
      return fail('google.protobuf.Any needs an "@type" key naming the type of its contents');
    }
    const url = json['@type'];
    if (typeof url !== 'string') throw withSegment(new PathError(`${show(url)} is not a type URL`), '["@type"]');
    const inner = typeFromUrl(url);
    if (inner === undefined) {
      throw withSegment(new PathError(`unknown message type ${show(url)}: no loaded proto defines it`), '["@type"]');
    }
    let msg: Msg;
    if (hasSpecialJson(inner.fullName)) {
      for (const key of Object.keys(json)) {
        if (key !== '@type' && key !== 'value' && !opts.ignoreUnknownFields) {
          throw withSegment(new PathError(`unknown field: an Any holding ${inner.fullName.slice(1)} has only "@type" and "value"`), keySegment(key));
        }
      }
      if (!hasOwn(json, 'value')) {
        // protobuf-go writes Empty as `"value": {}` but other implementations write no "value" at all.
        if (inner.fullName !== WKT.empty) return fail(`an Any holding ${inner.fullName.slice(1)} needs a "value" key`);
      }
      try {
        msg = (hasOwn(json, 'value') ? messageReader(inner)(json['value'], opts, depth + 1) : {}) as Msg;
      } catch (err) {
        throw withSegment(err, '.value');
      }
    } else {
      msg = fieldsReader(inner)(json, opts, depth, '@type');
    }
    try {
      return { [typeUrlKey]: url, [valueKey]: binary.encode(inner, msg) };
    } catch (err) {
      if (err instanceof CodecError) return fail(err.description);
      throw err;
    }
  };

  // ---- URL text ----

  const scalarFromText = (field: Field, text: string, opts: ReadOptions): unknown => {
    const t = field.resolvedType;
    if (t instanceof protobuf.Enum) {
      if (/^-?\d+$/.test(text)) return intFromKeyText(text, 'int32');
      return enumFromName(t, text, opts);
    }
    if (t instanceof protobuf.Type) {
      const name = t.fullName;
      if (name === WKT.timestamp || name === WKT.duration || name === WKT.fieldMask) {
        return messageReader(t)(text, opts, 1);
      }
      if (WRAPPERS.has(name)) return { [fieldName(t, 1)]: scalarFromText(t.fieldsById[1]!, text, opts) };
      return fail(`a ${name.slice(1)} cannot be given as text`);
    }
    if (field.type === 'bool') {
      if (text === 'true') return true;
      if (text === 'false') return false;
      return fail(`${show(text)} is not "true" or "false"`);
    }
    // Every other scalar's text form is its JSON string form (numbers, "NaN", base64).
    return scalarReader(field.type)(text, opts, 1);
  };

  return {
    message: messageReader,
    field: fieldReader,
    scalarFromText,
    mapKey: (field, text) => {
      if (!field.map) return fail(`${field.name} is not a map field`);
      return mapKeyFromString(mapKeyTypeOf(field), text);
    },
  };
}
