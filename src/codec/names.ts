/**
 * Field-name conversions of the proto3 JSON mapping.
 */
import type { Field } from 'protobufjs';

/**
 * The JSON name of a field: its `json_name` option when set, else protoc's ToJsonName of the proto name
 * (underscores dropped, the letter after each capitalised: `amount_minor` → `amountMinor`).
 */
export function jsonNameOf(field: Field): string {
  const explicit: unknown = field.options?.['json_name'];
  return typeof explicit === 'string' ? explicit : lowerCamel(field.name);
}

/** protoc's ToJsonName (descriptor.cc): `foo_bar` → `fooBar`, `foo_1` → `foo1`. Never fails. */
export function lowerCamel(name: string): string {
  let out = '';
  let upperNext = false;
  for (const ch of name) {
    if (ch === '_') {
      upperNext = true;
    } else if (upperNext) {
      out += ch.toUpperCase();
      upperNext = false;
    } else {
      out += ch;
    }
  }
  return out;
}

const CAMEL_SEGMENT = /^[a-z][a-zA-Z0-9]*$/;
const SNAKE_SEGMENT = /^[a-z](?:[a-z0-9]|_[a-z])*$/;

/**
 * A google.protobuf.FieldMask path from JSON (`user.displayName`) to its proto form (`user.display_name`).
 * The mapping spec converts each name to and from lowerCamelCase, so a JSON path must not contain
 * underscores (protobuf-go rejects them too: they could not have come from a round trip).
 * @returns undefined when a segment is not a lowerCamelCase identifier.
 */
export function fieldMaskPathFromJson(path: string): string | undefined {
  const segments = path.split('.');
  for (const s of segments) if (!CAMEL_SEGMENT.test(s)) return undefined;
  return segments.map((s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).join('.');
}

/**
 * A FieldMask path from its proto form to JSON (`display_name` → `displayName`).
 * @returns undefined when the path would not survive the round trip back (an upper-case letter, or an
 *   underscore not followed by a lower-case letter): protobuf-go refuses to write such masks.
 */
export function fieldMaskPathToJson(path: string): string | undefined {
  const segments = path.split('.');
  for (const s of segments) if (!SNAKE_SEGMENT.test(s)) return undefined;
  return segments.map((s) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())).join('.');
}
