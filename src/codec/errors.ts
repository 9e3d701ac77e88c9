/**
 * Errors raised by the codec. Request-time conversion fails with `CodecError`, which carries the JSON path
 * of the offending field so callers can build a google.rpc.BadRequest field violation from it.
 */
import { JsonNumberText } from './json-number.js';

/** A value that cannot be converted. `field` is the JSON path ('' for the root / a syntax error). */
export class CodecError extends Error {
  /** The path of the bad value, in JSON names as the user wrote them: `items[2].sku`, `metadata["k"]`. */
  readonly field: string;
  /** What is wrong with the value, without the path: `"12x" is not a 64-bit integer`. */
  readonly description: string;

  constructor(field: string, description: string) {
    super(field === '' ? description : `invalid value for ${field}: ${description}`);
    this.name = 'CodecError';
    this.field = field;
    this.description = description;
  }
}

/**
 * @private The failure thrown inside the compiled readers and writers. The path is assembled while the
 * error unwinds (each container prepends its own segment), so the happy path never builds path strings.
 * Converted to `CodecError` at the public API by `toCodecError`.
 */
export class PathError extends Error {
  /** Path segments below the entry point, already joined: `.items[2].sku`. */
  rel = '';
  constructor(readonly description: string) {
    super(description);
    this.name = 'PathError';
  }
}

/** @private Throws a PathError for the value currently being converted. */
export function fail(description: string): never {
  throw new PathError(description);
}

/** @private Prepends `segment` to the path of a PathError; any other error passes through unchanged. */
export function withSegment(err: unknown, segment: string): unknown {
  if (err instanceof PathError) err.rel = segment + err.rel;
  return err;
}

/** @private The path segment for an object key: `.name`, or `["key"]` for keys that are not identifiers. */
export function keySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** @private The path segment for a map or Struct entry: always `["key"]`, since keys are user data. */
export function entrySegment(key: string): string {
  return `[${JSON.stringify(key)}]`;
}

/**
 * @private Converts a failure from the compiled code into a CodecError rooted at `at`. Stack overflows
 * (possible only with a huge maxDepth) become a CodecError too; anything else is a bug and is rethrown.
 */
export function toCodecError(err: unknown, at: string): unknown {
  if (err instanceof PathError) {
    let rel = err.rel;
    if (at === '' && rel.startsWith('.')) rel = rel.slice(1);
    return new CodecError(at + rel, err.description);
  }
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new CodecError(at, 'value is nested too deeply');
  }
  return err;
}

/** @private A short, JSON-like rendering of a bad value for error messages. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 61)}...` : v);
  if (v instanceof JsonNumberText) return v.text;
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  return String(v);
}
