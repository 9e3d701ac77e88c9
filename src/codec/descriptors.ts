/**
 * Small descriptor helpers shared by the readers, writers and binary codec.
 */
import protobuf from 'protobufjs';
import type { Field, Type } from 'protobufjs';

/** The key type of a map field (`string`, `int64`, `bool`, …); protobufjs keeps it on MapField. */
export function mapKeyTypeOf(field: Field): string {
  return (field as unknown as protobuf.MapField).keyType;
}

/** Resolves google.protobuf.Any type URLs to loaded message types. */
export type TypeUrlResolver = (typeUrl: string) => Type | undefined;

const FULL_NAME = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;

/** Message types by full name (no leading dot): what registry/schema-store.ts's store provides. */
export interface MessageTypes {
  messageType(fullName: string): Type | undefined;
}

/**
 * Resolves a type URL by the full message name after its last "/" (any.proto: "the last path segment of
 * the URL must represent the fully qualified name of the type"), among the types of `source` (a schema
 * store, or a resolved Root). Only hits are cached, so the cache stays bounded by the number of loaded
 * types whatever clients send.
 * @returns undefined for an unknown or malformed name.
 */
export function createTypeUrlResolver(source: protobuf.Root | MessageTypes): TypeUrlResolver {
  const hits = new Map<string, Type>();
  const types = source instanceof protobuf.Root ? rootMessageTypes(source) : source;
  return (typeUrl) => {
    const cached = hits.get(typeUrl);
    if (cached !== undefined) return cached;
    const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    if (!FULL_NAME.test(name)) return undefined;
    const found = types.messageType(name);
    if (found === undefined) return undefined;
    hits.set(typeUrl, found);
    return found;
  };
}

/** The message types of a resolved Root (for callers that keep the Root: tests, the OpenAPI document). */
export function rootMessageTypes(root: protobuf.Root): MessageTypes {
  return {
    messageType(name) {
      const found = root.lookup(`.${name}`);
      // protobufjs's lookup also searches nested namespaces for a bare name ("Nested" would find
      // "codectest.v1.Nested"); a full name must match exactly.
      return found instanceof protobuf.Type && found.fullName === `.${name}` ? found : undefined;
    },
  };
}

/**
 * The name of field number `id` of `type`. Well-known types are addressed by number because protobufjs
 * replaces google/protobuf/{struct,any,…}.proto with built-in definitions whose names differ from the
 * files (google.protobuf.Value's fields are `nullValue`, `numberValue`, … there, not `null_value`).
 * @throws Error at compile time when the type lacks the field (a malformed well-known type).
 */
export function fieldName(type: Type, id: number): string {
  const f = type.fieldsById[id];
  if (f === undefined) throw new Error(`codec: ${type.fullName} has no field number ${id}`);
  return f.name;
}

/** google.protobuf.Value, Struct and ListValue, with the Msg keys of their fields. */
export interface StructFamily {
  readonly valueType: Type;
  readonly structFields: string;
  readonly listValues: string;
  readonly nullValue: string;
  readonly numberValue: string;
  readonly stringValue: string;
  readonly boolValue: string;
  readonly structValue: string;
  readonly listValue: string;
}

/** The Struct family around google.protobuf.Value `valueType` (its fields 5 and 6 lead to the others). */
export function structFamilyOf(valueType: Type): StructFamily {
  const struct = valueType.fieldsById[5]?.resolvedType;
  const list = valueType.fieldsById[6]?.resolvedType;
  if (!(struct instanceof protobuf.Type) || !(list instanceof protobuf.Type)) {
    throw new Error(`codec: ${valueType.fullName} is not a well-formed google.protobuf.Value`);
  }
  return {
    valueType,
    structFields: fieldName(struct, 1),
    listValues: fieldName(list, 1),
    nullValue: fieldName(valueType, 1),
    numberValue: fieldName(valueType, 2),
    stringValue: fieldName(valueType, 3),
    boolValue: fieldName(valueType, 4),
    structValue: fieldName(valueType, 5),
    listValue: fieldName(valueType, 6),
  };
}

/** The google.protobuf.Value type reachable from a Value, Struct or ListValue type. */
export function valueTypeOf(type: Type, wkt: { value: string; struct: string; listValue: string }): Type {
  if (type.fullName === wkt.value) return type;
  const t = type.fieldsById[1]?.resolvedType; // Struct.fields (map value) and ListValue.values
  if (!(t instanceof protobuf.Type) || t.fullName !== wkt.value) {
    throw new Error(`codec: ${type.fullName} is not a well-formed Struct or ListValue`);
  }
  return t;
}
