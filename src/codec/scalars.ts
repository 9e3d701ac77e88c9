/**
 * Scalar conversions of the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/):
 * integers, floating point, bool, string, bytes and map keys, in both directions.
 *
 * Readers take a JSON value (as produced by `parseJson`, so possibly a `JsonNumberText`) and return the
 * protobufjs plain-object representation; they fail with `fail()` (a PathError), leaving the path to the
 * caller. Writers take what protobufjs or the readers produced and return JSON text.
 */
import Long from 'long';
import { PathError, fail, show } from './errors.js';
import { JsonNumberText } from './json-number.js';

/** The four integer shapes a proto integer type maps to. */
export type IntKind = 'int32' | 'uint32' | 'int64' | 'uint64';

/** The IntKind of a proto scalar type name, or undefined for non-integers. */
export function intKindOf(protoType: string): IntKind | undefined {
  switch (protoType) {
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return 'int32';
    case 'uint32':
    case 'fixed32':
      return 'uint32';
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return 'int64';
    case 'uint64':
    case 'fixed64':
      return 'uint64';
    default:
      return undefined;
  }
}

const LABEL: Record<IntKind, string> = Object.freeze({
  int32: 'a 32-bit integer',
  uint32: 'an unsigned 32-bit integer',
  int64: 'a 64-bit integer',
  uint64: 'an unsigned 64-bit integer',
});
const MIN: Record<IntKind, bigint> = Object.freeze({ int32: -(2n ** 31n), uint32: 0n, int64: -(2n ** 63n), uint64: 0n });
const MAX: Record<IntKind, bigint> = Object.freeze({
  int32: 2n ** 31n - 1n,
  uint32: 2n ** 32n - 1n,
  int64: 2n ** 63n - 1n,
  uint64: 2n ** 64n - 1n,
});
const MIN_NUMBER: Record<IntKind, number> = Object.freeze({ int32: -(2 ** 31), uint32: 0, int64: -(2 ** 63), uint64: 0 });
const MAX_NUMBER: Record<IntKind, number> = Object.freeze({ int32: 2 ** 31 - 1, uint32: 2 ** 32 - 1, int64: 2 ** 63, uint64: 2 ** 64 });

/**
 * Whether `text` matches `-?(0|[1-9][0-9]{0,17})`: up to 18 digits always fits int64, so such strings skip
 * BigInt entirely. A loop rather than a regular expression: int64 fields arrive as strings in almost every
 * request, and this is several times cheaper for short ones.
 */
function isSmallInt(text: string): boolean {
  const n = text.length;
  const start = n > 0 && text.charCodeAt(0) === 0x2d /* - */ ? 1 : 0;
  const digits = n - start;
  if (digits < 1 || digits > 18) return false;
  const first = text.charCodeAt(start);
  if (first === 0x30 /* 0 */) return digits === 1;
  if (first < 0x31 || first > 0x39) return false;
  for (let i = start + 1; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
/** The JSON number grammar (RFC 8259 §6); the mapping accepts it inside strings too ("1e3"). */
const JSON_NUMBER = /^(-)?(0|[1-9]\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * The exact integer a JSON number literal denotes.
 * @returns 'syntax' when not a number, 'fraction' when not integral, 'huge' when far beyond 64 bits.
 */
function exactInteger(text: string): bigint | 'syntax' | 'fraction' | 'huge' {
  const m = JSON_NUMBER.exec(text);
  if (m === null) return 'syntax';
  const frac = m[3] ?? '';
  const digits = (m[2]! + frac).replace(/^0+/, '');
  if (digits === '') return 0n;
  const exp = (m[4] === undefined ? 0 : Number(m[4])) - frac.length;
  let value: bigint;
  if (exp >= 0) {
    if (digits.length + exp > 40) return 'huge';
    value = BigInt(digits) * 10n ** BigInt(exp);
  } else {
    const keep = digits.length + exp;
    if (keep <= 0 || !/^0*$/.test(digits.slice(keep))) return 'fraction';
    value = BigInt(digits.slice(0, keep));
  }
  return m[1] === '-' ? -value : value;
}

/**
 * A JSON value for an integer field: a number, a `JsonNumberText`, or a string holding a JSON number.
 * Exponents and zero fractions are accepted when the value is integral (`1e3`, `"2.0"`), as protobuf-go does.
 * @returns a number for 32-bit kinds; a canonical decimal string for 64-bit kinds (protobufjs encodes it
 *   exactly through Long.fromString).
 */
export function intFromJson(v: unknown, kind: IntKind): number | string {
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return fail(`${show(v)} is not ${LABEL[kind]}`);
    if (!Number.isInteger(v)) return fail(`${show(v)} is not ${LABEL[kind]}: it has a fractional part`);
    if (Number.isSafeInteger(v)) return checkSafe(v, kind, v);
    return checkBig(BigInt(v), kind, v);
  }
  if (typeof v === 'string') text = v;
  else if (v instanceof JsonNumberText) text = v.text;
  else return fail(`${show(v)} is not ${LABEL[kind]}`);

  if (isSmallInt(text)) {
    // Up to 18 digits: inside int64 by construction, so only the sign needs checking for uint64.
    if (kind === 'int64') return text === '-0' ? '0' : text;
    if (kind === 'uint64') return text.charCodeAt(0) !== 0x2d ? text : text === '-0' ? '0' : fail(`${show(v)} is out of range for ${LABEL[kind]}`);
    return checkSafe(Number(text), kind, v);
  }
  const exact = exactInteger(text);
  if (exact === 'syntax') return fail(`${show(v)} is not ${LABEL[kind]}`);
  if (exact === 'fraction') return fail(`${show(v)} is not ${LABEL[kind]}: it has a fractional part`);
  if (exact === 'huge') return fail(`${show(v)} is out of range for ${LABEL[kind]}`);
  return checkBig(exact, kind, v);
}

function checkSafe(n: number, kind: IntKind, shown: unknown): number | string {
  if (n < MIN_NUMBER[kind] || n > MAX_NUMBER[kind]) return fail(`${show(shown)} is out of range for ${LABEL[kind]}`);
  if (kind === 'int32' || kind === 'uint32') return n + 0; // + 0 turns -0 into 0
  return String(n); // String(-0) is "0"
}

function checkBig(n: bigint, kind: IntKind, shown: unknown): number | string {
  if (n < MIN[kind] || n > MAX[kind]) return fail(`${show(shown)} is out of range for ${LABEL[kind]}`);
  return kind === 'int32' || kind === 'uint32' ? Number(n) : n.toString();
}

/** An integer from URL text (a map key or a query value): decimal with an optional sign, nothing else. */
export function intFromKeyText(text: string, kind: IntKind): number | string {
  if (!/^[+-]?\d+$/.test(text)) return fail(`${show(text)} is not ${LABEL[kind]}`);
  return checkBig(BigInt(text), kind, text);
}

const FLOAT32_LABEL = 'a 32-bit float';
const DOUBLE_LABEL = 'a number';

/**
 * A JSON value for a float or double field: a number, a `JsonNumberText`, or a string holding a JSON
 * number or one of "NaN", "Infinity", "-Infinity" (the mapping's spellings of the non-finite values).
 * Values that overflow the field's width are errors, as in protobuf-go.
 */
export function floatFromJson(v: unknown, single: boolean): number {
  let n: number;
  if (typeof v === 'number') {
    n = v;
  } else if (v instanceof JsonNumberText) {
    n = v.toNumber();
  } else if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (!JSON_NUMBER.test(v)) return fail(`${show(v)} is not ${single ? FLOAT32_LABEL : DOUBLE_LABEL}`);
    n = Number(v);
  } else {
    return fail(`${show(v)} is not ${single ? FLOAT32_LABEL : DOUBLE_LABEL}`);
  }
  if (!Number.isFinite(single ? Math.fround(n) : n)) {
    return fail(`${show(v)} is out of range for ${single ? FLOAT32_LABEL : 'a double'}`);
  }
  return n;
}

/** A JSON value for a bool field: only `true` or `false` (the mapping has no string form in JSON). */
export function boolFromJson(v: unknown): boolean {
  if (typeof v !== 'boolean') return fail(`${show(v)} is not a boolean`);
  return v;
}

/**
 * Whether `s` is well-formed UTF-16 (no lone surrogates), i.e. encodable as the valid UTF-8 that proto
 * `string` fields require (protobuf-go and @bufbuild/protobuf reject the rest; an upstream would too).
 */
export function isWellFormed(s: string): boolean {
  // String.prototype.isWellFormed is in Node 20 (ES2024), which the ES2023 lib typings do not declare.
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** A JSON value for a string field: a string of well-formed UTF-16. */
export function stringFromJson(v: unknown): string {
  if (typeof v !== 'string') return fail(`${show(v)} is not a string`);
  if (!isWellFormed(v)) return fail(`${show(v)} contains a lone UTF-16 surrogate, which has no UTF-8 form`);
  return v;
}

const BASE64_STD = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * A JSON value for a bytes field: standard (RFC 4648 §4) or URL-safe (§5) base64, padding optional, the
 * two alphabets not mixed. Returns a Buffer (a Uint8Array).
 */
export function bytesFromJson(v: unknown): Uint8Array {
  if (typeof v !== 'string') return fail(`${show(v)} is not a base64 string`);
  const bytes = bytesFromBase64(v);
  return bytes ?? fail(`${show(v)} is not valid base64`);
}

/** Decodes base64 (standard or URL-safe, padding optional); undefined when malformed. */
export function bytesFromBase64(text: string): Uint8Array | undefined {
  if (!BASE64_STD.test(text) && !BASE64_URL.test(text)) return undefined;
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* = */) end--;
  if (end !== text.length && text.length % 4 !== 0) return undefined;
  if (end % 4 === 1) return undefined;
  // Node's base64 decoder accepts both alphabets and missing padding; the checks above make it strict.
  return Buffer.from(end === text.length ? text : text.slice(0, end), 'base64');
}

/** Standard base64 with padding, as the mapping writes bytes. Accepts a Uint8Array or a number array. */
export function bytesToBase64(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (Array.isArray(v)) return Buffer.from(v as number[]).toString('base64');
  if (typeof v === 'string') return v; // protobufjs's plain-object form may already hold base64
  return '';
}

/**
 * The decimal text of a 64-bit integer in any form protobufjs uses: a Long (from decode), a decimal
 * string (from the readers), a number or a bigint. `unsigned` fixes the sign interpretation of a Long
 * whose own flag disagrees with the field.
 */
export function int64ToString(v: unknown, unsigned: boolean): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v + 0) : BigInt(Math.trunc(v)).toString();
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object' && v !== null && 'low' in v && 'high' in v) {
    const l = v as { low: number; high: number; unsigned?: boolean; toInt?: unknown };
    // Fast path: values below 2^53 in magnitude convert exactly through a double (Long.toString divides).
    const h = l.high | 0;
    if (unsigned ? h >>> 0 < 0x200000 : h >= -0x200000 && h < 0x200000) {
      return String((unsigned ? h >>> 0 : h) * 4294967296 + (l.low >>> 0));
    }
    // A real Long (protobufjs's copy of the long package) formats itself; anything else is rebuilt.
    if (typeof l.toInt === 'function' && l.unsigned === unsigned) return String(l);
    return Long.fromBits(l.low, l.high, unsigned).toString();
  }
  return '0';
}

/** Whether a 64-bit value in any protobufjs form is zero (the default, omitted from output). */
export function int64IsZero(v: unknown): boolean {
  if (v === undefined || v === null || v === 0 || v === '0') return true;
  if (typeof v === 'object' && 'low' in v && 'high' in v) {
    const l = v as { low: number; high: number };
    return l.low === 0 && l.high === 0;
  }
  return v === 0n || v === '-0';
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * A string as a JSON string literal. Strings without quotes, backslashes, control characters or
 * surrogates (almost all of them) skip JSON.stringify, which is about twice as slow for short strings.
 */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * A double as JSON: finite values as numbers (JavaScript's shortest round-trip form, which uses exponents
 * below 1e-6 and from 1e21 on, like protobuf-go), non-finite ones as the strings the mapping defines.
 * -0 stays -0: it is not the default value in protobuf-go, which compares bit patterns.
 */
export function doubleToJson(v: number): string {
  if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : String(v);
  if (Number.isNaN(v)) return '"NaN"';
  return v > 0 ? '"Infinity"' : '"-Infinity"';
}

/**
 * A float as JSON, in the shortest form that reads back to the same 32-bit value (`0.1`, not the
 * widened `0.10000000149011612`), as protobuf-go formats float fields.
 */
export function floatToJson(v: number): string {
  const f = Math.fround(v);
  if (!Number.isFinite(f) || f === 0) return doubleToJson(f);
  for (let p = 1; p < 10; p++) {
    const n = Number(f.toPrecision(p));
    if (Math.fround(n) === f) return String(n);
  }
  return String(f);
}

/**
 * A map key from its JSON/URL string form → the form protobufjs stores (and `encode` reads): canonical
 * decimal for integer keys (`"+7"`, `"007"` → `"7"`), `"true"`/`"false"` for bool, the text for strings.
 * Fails with a description starting "map key".
 */
export function mapKeyFromString(keyType: string, text: string): string {
  if (keyType === 'string') return stringFromJson(text);
  if (keyType === 'bool') {
    if (text === 'true' || text === 'false') return text;
    return fail(`map key ${show(text)} is not "true" or "false"`);
  }
  const kind = intKindOf(keyType);
  if (kind === undefined) return fail(`map key type ${keyType} is not supported`);
  try {
    return String(intFromKeyText(text, kind));
  } catch (err) {
    if (err instanceof PathError) fail(`map key ${err.description}`);
    throw err;
  }
}
