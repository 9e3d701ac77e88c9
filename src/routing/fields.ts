/**
 * Field-path resolution against protobufjs message types, shared by route building (load time) and query
 * parameters (request time).
 *
 * A name is matched against the proto field name first and then against the JSON name: http.proto says
 * field paths in templates and query parameters use proto names, and grpc-gateway and Envoy also accept the
 * lowerCamelCase JSON names in query strings, which is what users of a JSON API naturally type.
 */
import type protobuf from 'protobufjs';
import { jsonNameOf } from '../codec/names.js';
import { WKT, WRAPPERS } from '../codec/wkt.js';

const byNameCache = new WeakMap<protobuf.Type, ReadonlyMap<string, protobuf.Field>>();

/** name (proto or JSON) → field, computed once per type. The cache is keyed by the immutable Type object. */
export function fieldsByName(type: protobuf.Type): ReadonlyMap<string, protobuf.Field> {
  let map = byNameCache.get(type);
  if (map === undefined) {
    const m = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) m.set(jsonNameOf(f), f);
    // Proto names win over a clashing JSON name of another field.
    for (const f of type.fieldsArray) m.set(f.name, f);
    map = m;
    byNameCache.set(type, map);
  }
  return map;
}

/** The message type a field holds, or undefined for scalars and enums. */
export function messageTypeOf(field: protobuf.Field): protobuf.Type | undefined {
  const t = field.resolvedType;
  return t !== null && 'fieldsArray' in t ? (t as protobuf.Type) : undefined;
}

/** Full names of the message types that a URL path variable or query parameter can carry as text: the
 *  well-known types whose JSON form is a string or a bare scalar (the codec's own lists). */
export const TEXT_FORM_TYPES: ReadonlySet<string> = new Set(
  [WKT.timestamp, WKT.duration, WKT.fieldMask, ...WRAPPERS].map((n) => n.slice(1)),
);

/** The full name without protobufjs's leading dot. */
export function fullNameOf(t: protobuf.ReflectionObject): string {
  return t.fullName.startsWith('.') ? t.fullName.slice(1) : t.fullName;
}

/** Whether a field's value can be written as one piece of text (a scalar, an enum or a text-form WKT). */
export function isTextField(field: protobuf.Field): boolean {
  const mt = messageTypeOf(field);
  return mt === undefined || TEXT_FORM_TYPES.has(fullNameOf(mt));
}

/** Resolves a dotted path (`a.b.c`) from `type`; every name but the last must be a singular message field. */
export function resolveFieldPath(
  type: protobuf.Type,
  names: readonly string[],
): { ok: true; fields: protobuf.Field[] } | { ok: false; reason: string } {
  const fields: protobuf.Field[] = [];
  let current: protobuf.Type | undefined = type;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (current === undefined) {
      return { ok: false, reason: `"${names.slice(0, i).join('.')}" is not a message, so it has no field "${name}"` };
    }
    const f = fieldsByName(current).get(name);
    if (f === undefined) return { ok: false, reason: `${fullNameOf(current)} has no field "${name}"` };
    if (i < names.length - 1 && (f.repeated || f.map)) {
      return { ok: false, reason: `"${names.slice(0, i + 1).join('.')}" is repeated, so it cannot be traversed` };
    }
    fields.push(f);
    const mt = messageTypeOf(f);
    current = mt !== undefined && !TEXT_FORM_TYPES.has(fullNameOf(mt)) ? mt : undefined;
  }
  return { ok: true, fields };
}
