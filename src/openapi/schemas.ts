/**
 * protobufjs message and enum types → JSON Schema (the 2020-12 dialect OpenAPI 3.1 uses), following the
 * proto3 JSON mapping (https://protobuf.dev/programming-guides/json/) as attache writes it: lowerCamelCase
 * names (or proto names), 64-bit integers as strings (or numbers), enums as names (or numbers), bytes as
 * base64, the well-known types in their special forms, maps as objects, oneofs as "at most one of".
 *
 * Each message and enum becomes one named component (its full proto name), so recursive types and shared
 * types cost one entry. A route whose output options differ from the canonical ones (a mapping-file `json`
 * rule) gets its own variant of each component, suffixed with those options, because property names,
 * enum and int64 forms and required-ness all change with them.
 *
 * Pure: reads descriptors, builds plain objects.
 */
import type protobuf from 'protobufjs';
import type { WriteOptions } from '../codec/index.js';
import { jsonNameOf } from '../codec/names.js';
import { WKT, WRAPPERS } from '../codec/wkt.js';
import { fullNameOf, messageTypeOf } from '../routing/fields.js';

/** A JSON Schema object (the subset this module writes). */
export type JsonSchema = Record<string, unknown>;

/** How values are written: the route's output options (canonical for request bodies). */
export type SchemaStyle = Pick<WriteOptions, 'useProtoNames' | 'enumsAsNumbers' | 'int64AsNumbers' | 'emitUnpopulated'>;

/** The proto3 JSON mapping's canonical form, which request bodies are documented in. */
export const CANONICAL_STYLE: SchemaStyle = Object.freeze({ useProtoNames: false, enumsAsNumbers: false, int64AsNumbers: false, emitUnpopulated: false });

/** Oneofs with more members than this are described, not constrained (n·(n-1)/2 pairs). */
const MAX_ONEOF_PAIRS_MEMBERS = 8;

const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);
const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);

/** The comment protobufjs kept (registry/load.ts parses with alternateCommentMode), trimmed; undefined when none. */
export function commentOf(obj: protobuf.ReflectionObject): string | undefined {
  const c = obj.comment;
  return typeof c === 'string' && c.trim() !== '' ? c.trim() : undefined;
}

/** Whether a descriptor carries `deprecated = true`. */
export function isDeprecated(obj: protobuf.ReflectionObject): boolean {
  return obj.options?.['deprecated'] === true;
}

/** google.api.field_behavior values of a field (AIP-203), from its options as protobufjs parsed them. */
export function fieldBehaviors(field: protobuf.Field): ReadonlySet<string> {
  const out = new Set<string>();
  const add = (v: unknown): void => {
    if (typeof v === 'string') out.add(v);
    else if (Array.isArray(v)) v.forEach(add);
  };
  add(field.options?.['(google.api.field_behavior)']);
  for (const o of (field.parsedOptions ?? []) as Record<string, unknown>[]) add(o['(google.api.field_behavior)']);
  return out;
}

/** Whether a field is a member of a real oneof (not the synthetic one protobufjs makes for proto3 `optional`). */
export function realOneofOf(field: protobuf.Field): protobuf.OneOf | undefined {
  const o = field.partOf;
  return o !== null && !o.name.startsWith('_') ? o : undefined;
}

function styleSuffix(style: SchemaStyle): string {
  const parts: string[] = [];
  if (style.useProtoNames) parts.push('protoNames');
  if (style.enumsAsNumbers) parts.push('enumNumbers');
  if (style.int64AsNumbers) parts.push('int64Numbers');
  if (style.emitUnpopulated) parts.push('emitUnpopulated');
  return parts.length === 0 ? '' : `-${parts.join('-')}`;
}

/** Descriptions of the well-known types, whose own proto comments protobufjs's bundled copies lack. */
function wellKnownSchema(fullName: string, style: SchemaStyle, scalar: (type: string) => JsonSchema): JsonSchema | undefined {
  switch (`.${fullName}`) {
    case WKT.timestamp:
      return { type: 'string', format: 'date-time', description: 'google.protobuf.Timestamp: an RFC 3339 date-time in UTC ("Z"), with 0, 3, 6 or 9 fractional digits.' };
    case WKT.duration:
      return { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$', description: 'google.protobuf.Duration: seconds with up to 9 fractional digits and an "s" suffix, e.g. "1.5s".' };
    case WKT.fieldMask:
      return { type: 'string', description: 'google.protobuf.FieldMask: comma-separated field paths in lowerCamelCase, e.g. "displayName,address.city".' };
    case WKT.struct:
      return { type: 'object', additionalProperties: true, description: 'google.protobuf.Struct: any JSON object.' };
    case WKT.value:
      return { description: 'google.protobuf.Value: any JSON value.' };
    case WKT.listValue:
      return { type: 'array', items: {}, description: 'google.protobuf.ListValue: any JSON array.' };
    case WKT.empty:
      return { type: 'object', properties: {}, additionalProperties: false, description: 'google.protobuf.Empty: always {}.' };
    case WKT.any:
      return {
        type: 'object',
        required: ['@type'],
        properties: { '@type': { type: 'string', description: 'type.googleapis.com/ followed by the full name of the message type' } },
        additionalProperties: true,
        description: 'google.protobuf.Any: the message\'s JSON with an "@type" URL naming its type; a well-known type sits under "value".',
      };
    default:
      break;
  }
  if (WRAPPERS.has(`.${fullName}`)) {
    const inner = fullName.slice('google.protobuf.'.length, -'Value'.length).toLowerCase();
    const s = scalar(inner);
    return { ...s, description: `${fullName}: the wrapped value itself.${style.emitUnpopulated ? ' null when unset.' : ''}` };
  }
  return undefined;
}

/**
 * Builds component schemas on demand. `ref()` returns a `$ref` and registers the component (and, lazily,
 * everything it reaches) in `components`.
 */
export class SchemaSet {
  /** Component name → schema, in the order first referenced. */
  readonly components: Record<string, JsonSchema> = {};
  private readonly building = new Set<string>();

  /** A schema for a message or enum type in `style`: a `$ref`, or an inline schema for the well-known types. */
  typeSchema(type: protobuf.Type | protobuf.Enum, style: SchemaStyle): JsonSchema {
    const name = fullNameOf(type);
    if ('values' in type) {
      if (`.${name}` === WKT.nullValue) return { type: 'null' };
      return this.ref(`${name}${style.enumsAsNumbers ? '-enumNumbers' : ''}`, () => this.enumSchema(type as protobuf.Enum, style));
    }
    const wkt = wellKnownSchema(name, style, (t) => this.scalarSchema(t, style));
    if (wkt !== undefined) return wkt;
    return this.ref(`${name}${styleSuffix(style)}`, () => this.messageSchema(type as protobuf.Type, style));
  }

  /** The schema of one field's value (repeated and map fields as arrays and objects). */
  fieldSchema(field: protobuf.Field, style: SchemaStyle): JsonSchema {
    const value = this.singleValueSchema(field, style);
    if (field.map) {
      const keyType = (field as unknown as protobuf.MapField).keyType;
      const keys: JsonSchema =
        keyType === 'bool' ? { enum: ['true', 'false'] } : keyType === 'string' ? {} : { pattern: UINT32.has(keyType) || UINT64.has(keyType) ? '^[0-9]+$' : '^-?[0-9]+$' };
      return Object.keys(keys).length === 0 ? { type: 'object', additionalProperties: value } : { type: 'object', propertyNames: keys, additionalProperties: value };
    }
    if (field.repeated) return { type: 'array', items: value };
    return value;
  }

  /** The schema of one scalar or enum value, or of one message, of the field's type. */
  singleValueSchema(field: protobuf.Field, style: SchemaStyle): JsonSchema {
    const resolved = field.resolvedType;
    if (resolved !== null) return this.typeSchema(resolved as protobuf.Type | protobuf.Enum, style);
    return this.scalarSchema(field.type, style);
  }

  /** A scalar type's JSON form. */
  scalarSchema(type: string, style: SchemaStyle): JsonSchema {
    if (INT64.has(type)) return style.int64AsNumbers ? { type: 'integer', format: 'int64' } : { type: 'string', format: 'int64', pattern: '^-?[0-9]+$' };
    if (UINT64.has(type)) return style.int64AsNumbers ? { type: 'integer', format: 'uint64', minimum: 0 } : { type: 'string', format: 'uint64', pattern: '^[0-9]+$' };
    if (INT32.has(type)) return { type: 'integer', format: 'int32' };
    if (UINT32.has(type)) return { type: 'integer', format: 'uint32', minimum: 0, maximum: 4294967295 };
    switch (type) {
      case 'double':
      case 'float':
        // The mapping also writes NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity".
        return { type: 'number', format: type };
      case 'bool':
        return { type: 'boolean' };
      case 'bytes':
        return { type: 'string', format: 'byte', contentEncoding: 'base64' };
      default:
        return { type: 'string' };
    }
  }

  private ref(name: string, build: () => JsonSchema): JsonSchema {
    if (!(name in this.components) && !this.building.has(name)) {
      this.building.add(name);
      // Placeholder first: a recursive type refers to itself while it is being built.
      this.components[name] = {};
      this.components[name] = build();
      this.building.delete(name);
    }
    return { $ref: `#/components/schemas/${name}` };
  }

  private enumSchema(e: protobuf.Enum, style: SchemaStyle): JsonSchema {
    const lines: string[] = [];
    const comment = commentOf(e);
    if (comment !== undefined) lines.push(comment, '');
    for (const [valueName, n] of Object.entries(e.values)) {
      const c = e.comments[valueName];
      const dep = (e.valuesOptions?.[valueName] as Record<string, unknown> | undefined)?.['deprecated'] === true ? ' (deprecated)' : '';
      lines.push(`- \`${valueName}\` (${n})${dep}${typeof c === 'string' && c.trim() !== '' ? `: ${c.trim().replace(/\s*\n\s*/g, ' ')}` : ''}`);
    }
    const schema: JsonSchema = style.enumsAsNumbers
      ? { type: 'integer', format: 'int32', enum: [...new Set(Object.values(e.values))] }
      : { type: 'string', enum: Object.keys(e.values) };
    schema['title'] = fullNameOf(e);
    schema['description'] = lines.join('\n');
    if (isDeprecated(e)) schema['deprecated'] = true;
    return schema;
  }

  private messageSchema(type: protobuf.Type, style: SchemaStyle): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    const nameOf = (f: protobuf.Field): string => (style.useProtoNames ? f.name : jsonNameOf(f));
    for (const field of type.fieldsArray) {
      const name = nameOf(field);
      let schema = this.fieldSchema(field, style);
      const notes: string[] = [];
      const comment = commentOf(field);
      const oneof = realOneofOf(field);
      if (oneof !== undefined) {
        const others = oneof.fieldsArray.filter((f) => f !== field).map(nameOf);
        notes.push(`Member of oneof \`${oneof.name}\`${others.length > 0 ? `: at most one of it and ${others.map((o) => `\`${o}\``).join(', ')} is set` : ''}.`);
      }
      const behaviors = fieldBehaviors(field);
      if (behaviors.has('IMMUTABLE')) notes.push('Immutable: set once, when the resource is created.');
      // Without emitUnpopulated an unset singular message is omitted; with it, written as null.
      const hasPresence = field.resolvedType !== null && 'fieldsArray' in field.resolvedType && !field.repeated && !field.map;
      if (style.emitUnpopulated && hasPresence && field.resolvedType!.fullName !== WKT.value) schema = { anyOf: [schema, { type: 'null' }] };
      const description = [comment, ...notes].filter((d) => d !== undefined).join('\n\n');
      if (description !== '') schema = { ...schema, description };
      if (isDeprecated(field)) schema = { ...schema, deprecated: true };
      if (behaviors.has('OUTPUT_ONLY')) schema = { ...schema, readOnly: true };
      if (behaviors.has('INPUT_ONLY')) schema = { ...schema, writeOnly: true };
      properties[name] = schema;
      const proto3Optional = field.partOf !== null && field.partOf.name.startsWith('_');
      // emitUnpopulated writes every field without presence (oneof members and proto3 optional excepted);
      // a REQUIRED field (AIP-203) must be sent by clients.
      if ((style.emitUnpopulated && oneof === undefined && !proto3Optional) || behaviors.has('REQUIRED')) required.push(name);
    }
    const schema: JsonSchema = { type: 'object', title: fullNameOf(type), properties };
    if (required.length > 0) schema['required'] = required;
    const comment = commentOf(type);
    if (comment !== undefined) schema['description'] = comment;
    if (isDeprecated(type)) schema['deprecated'] = true;
    // A oneof: no two of its members together (the JSON names; the proto names are accepted on input too).
    const exclusions: JsonSchema[] = [];
    for (const oneof of type.oneofsArray) {
      if (oneof.name.startsWith('_')) continue;
      const names = oneof.fieldsArray.map(nameOf);
      // Pairwise exclusions grow quadratically; past a handful of members the descriptions say it alone.
      if (names.length > MAX_ONEOF_PAIRS_MEMBERS) continue;
      for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) exclusions.push({ required: [names[i], names[j]] });
    }
    if (exclusions.length > 0) schema['not'] = { anyOf: exclusions };
    return schema;
  }
}

/** Whether `field` holds a message type (rather than a scalar or an enum). */
export function isMessageField(field: protobuf.Field): boolean {
  return messageTypeOf(field) !== undefined;
}
