/**
 * attache's gRPC metadata: the type that crosses the transport seam (transport.ts) and the request path,
 * whatever the wire. A flat list `[key, value, key, value, …]` in the order the entries were added, keys
 * lower-case, values strings — or Buffers for `-bin` keys (PROTOCOL-HTTP2.md "Binary-Header": the wire form
 * is base64, the value is bytes). Immutable once built: a change (`with`, `replacing`) gives a new object
 * and shares nothing mutable, so an attempt, a retry and telemetry can hold the same instance without
 * copying it first.
 *
 * Why not grpc-js's `Metadata`: it keeps a `Map` of arrays, validates with a regex on every `add`/`set`,
 * and the lean transport only ever needs to build one list, walk it once onto the wire, and look up a few
 * keys. Building and converting grpc-js Metadata was ~5% of attache's CPU per request and ~2 KB of garbage
 * (bench/RESULTS.md §0.7.3). grpc-js keeps its own Metadata at its own boundary (grpcjs-metadata.ts).
 *
 * Legality, as grpc-js checks it (its metadata.ts `isLegalKey`, `isLegalNonBinaryValue`, `validate`), so
 * what either wire accepts stays the same: a key matches `[:0-9a-z_.-]+`; a value of a `-bin` key is a
 * Buffer, any other value a string of 0x20–0x7E. The constructor trusts its caller (the builders in
 * metadata.ts and h2/wire.ts check as they build); {@link CallMetadata.of} checks and throws.
 */

import { BINARY_KEY_SUFFIX } from './headers.js';

/** A metadata value: text for ordinary keys, bytes for `-bin` keys. */
export type MetadataValue = string | Buffer;

/** grpc-js metadata.ts LEGAL_KEY_REGEX (it admits ':' too, for pseudo-headers it never sends). */
const LEGAL_KEY = /^[:0-9a-z_.-]+$/;
/** grpc-js metadata.ts LEGAL_NON_BINARY_VALUE_REGEX; PROTOCOL-HTTP2.md ASCII-Value is 0x20–0x7E. */
const LEGAL_TEXT_VALUE = /^[ -~]*$/;

/** A key grpc-js accepts after lower-casing (`[:0-9a-z_.-]+`). */
export function isLegalKey(key: string): boolean {
  return LEGAL_KEY.test(key);
}

/** A text value grpc-js accepts (printable ASCII, 0x20–0x7E, possibly empty). */
export function isLegalTextValue(value: string): boolean {
  return LEGAL_TEXT_VALUE.test(value);
}

/** PROTOCOL-HTTP2.md: a key ending in `-bin` carries bytes, base64 on the wire. */
export function isBinaryKey(key: string): boolean {
  return key.endsWith(BINARY_KEY_SUFFIX);
}

/** Whether `key`/`value` is an entry grpc-js would accept (`validate` in its metadata.ts). */
export function isLegalEntry(key: string, value: MetadataValue): boolean {
  if (!LEGAL_KEY.test(key)) return false;
  if (isBinaryKey(key)) return Buffer.isBuffer(value);
  return typeof value === 'string' && LEGAL_TEXT_VALUE.test(value);
}

/** An immutable list of metadata entries. See the module comment. */
export class CallMetadata {
  /** No entries; shared (nothing can change it). */
  static readonly EMPTY = new CallMetadata([]);

  /**
   * Takes `entries` (`[key, value, …]`) as they are, without a copy or a check: the caller guarantees the
   * keys are legal and lower-case, values legal for their key (see the module comment), and that it does
   * not change the array afterwards. Use {@link CallMetadata.of} for anything not checked already.
   */
  constructor(private readonly entries: readonly MetadataValue[]) {}

  /**
   * Checked construction from `[key, value]` pairs, keys lower-cased as grpc-js does.
   * @throws Error naming the first key whose key or value grpc-js would refuse
   */
  static of(pairs: Iterable<readonly [string, MetadataValue]>): CallMetadata {
    const list: MetadataValue[] = [];
    for (const [k, v] of pairs) {
      const key = k.toLowerCase();
      if (!isLegalEntry(key, v)) throw new Error(`illegal metadata entry "${key}"`);
      list.push(key, v);
    }
    return new CallMetadata(list);
  }

  /** The number of entries (a key with two values counts twice). */
  get size(): number {
    return this.entries.length >> 1;
  }

  /** The key of entry `i` (0 ≤ i < size). */
  keyAt(i: number): string {
    return this.entries[2 * i] as string;
  }

  /** The value of entry `i` (0 ≤ i < size). */
  valueAt(i: number): MetadataValue {
    return this.entries[2 * i + 1]!;
  }

  /** The first value of `key` (lower-case), or undefined. */
  get(key: string): MetadataValue | undefined {
    const e = this.entries;
    for (let i = 0; i < e.length; i += 2) if (e[i] === key) return e[i + 1];
    return undefined;
  }

  /** Every value of `key` (lower-case), in order; [] when none. */
  getAll(key: string): MetadataValue[] {
    const out: MetadataValue[] = [];
    const e = this.entries;
    for (let i = 0; i < e.length; i += 2) if (e[i] === key) out.push(e[i + 1]!);
    return out;
  }

  /** The distinct keys, in the order they first appear. */
  keys(): string[] {
    const out: string[] = [];
    const e = this.entries;
    for (let i = 0; i < e.length; i += 2) if (!out.includes(e[i] as string)) out.push(e[i] as string);
    return out;
  }

  /**
   * A copy with `key` set to the one `value` (grpc-js `set`: earlier values of `key` go, the new entry comes
   * last). `key` must be lower-case and the entry legal (the caller's constant or checked value).
   */
  with(key: string, value: MetadataValue): CallMetadata {
    const e = this.entries;
    const out: MetadataValue[] = [];
    for (let i = 0; i < e.length; i += 2) if (e[i] !== key) out.push(e[i]!, e[i + 1]!);
    out.push(key, value);
    return new CallMetadata(out);
  }

  /**
   * A copy without any entry whose key is in `drop`, plus `added` (`[key, value, …]`, text values; keys
   * lower-cased). An added entry grpc-js would refuse is left out rather than thrown: this is how
   * telemetry writes propagator output (tracing.ts), which never is user input as such.
   */
  replacing(drop: ReadonlySet<string>, added: readonly string[]): CallMetadata {
    const e = this.entries;
    const out: MetadataValue[] = [];
    for (let i = 0; i < e.length; i += 2) if (!drop.has(e[i] as string)) out.push(e[i]!, e[i + 1]!);
    for (let i = 0; i + 1 < added.length; i += 2) {
      const key = added[i]!.toLowerCase();
      const value = added[i + 1]!;
      if (isLegalEntry(key, value)) out.push(key, value);
    }
    return new CallMetadata(out);
  }

  /** `{key: [values]}`, as grpc-js's `toJSON` (for logs and tests). */
  toJSON(): Record<string, MetadataValue[]> {
    const out: Record<string, MetadataValue[]> = Object.create(null) as Record<string, MetadataValue[]>;
    const e = this.entries;
    for (let i = 0; i < e.length; i += 2) (out[e[i] as string] ??= []).push(e[i + 1]!);
    return { ...out };
  }
}
