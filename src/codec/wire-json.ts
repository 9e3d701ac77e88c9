/**
 * Protobuf binary → proto3 JSON text in one pass (https://protobuf.dev/programming-guides/json/), without
 * building a message object: the wire format is read field by field and each value is written as JSON text
 * straight away (int64 from its two 32-bit halves to decimal with no Long, strings with one `utf8Slice`,
 * bytes with one base64 conversion). Renderers are compiled once per message type and per WriteOptions set.
 *
 * The contract is strict equality with the two-pass path, `writer.message(type)(binary.decode(type, bytes))`
 * (protobufjs's generated decoder, then write.ts), byte for byte, including protobufjs's own reading rules,
 * which the cursor below ports: last occurrence wins for singular scalar fields; the last member of a oneof
 * on the wire wins (binary.ts applies protobuf's merge rules, merge.ts); packed and unpacked repeated scalars
 * are both accepted; a string running past its enclosing message is cut at its end; maps keep JavaScript
 * object key order.
 *
 * Anything off the common path is not reproduced but handed to the two-pass path, which then produces the
 * answer (or the error) itself: malformed bytes, a field whose wire type differs from its declaration, a
 * value with no JSON form (write.ts raises the error with its path), a singular message field that occurs
 * more than once (protobuf merges the occurrences), nesting beyond protobufjs's recursion limit, input that is a Uint8Array but not a Buffer (protobufjs
 * decodes its strings with its own UTF-8 reader), and types reaching proto2 groups or required fields.
 * So the one-pass code only has to be right on well-formed input; every other answer is the two-pass one.
 *
 * Rare well-known types are written through decode + write for their own bytes: Struct, Value and ListValue
 * (protobufjs decodes them at the same depth, write.ts writes them), and the payload of an Any (write.ts's
 * `any`, which resolves the type URL and has the unknown-type fallback).
 */
import protobuf from 'protobufjs';
import type { Enum, Field, Type } from 'protobufjs';
import { StrictBufferReader, type BinaryCodec } from './binary.js';
import { mapKeyTypeOf } from './descriptors.js';
import { PathError, fail } from './errors.js';
import { fieldMaskPathToJson, jsonNameOf } from './names.js';
import type { WriteOptions } from './options.js';
import { hasExplicitPresence } from './presence.js';
import { doubleToJson, floatToJson, jsonString } from './scalars.js';
import { WKT, WRAPPERS, durationToText, timestampToText } from './wkt.js';
import { EGROUP, I32, I64, LEN, SGROUP, VARINT } from './wire-types.js';
import type { Writer } from './write.js';

/** @private One-pass binary → JSON for the message types of one codec instance. */
export interface WireJson {
  /**
   * The JSON text of the message of `type` encoded in `bytes`: exactly `messageToJson(type, decode(type,
   * bytes), opts)`. Throws what that would throw: CodecError for malformed bytes, PathError (turned into
   * CodecError by the facade) for values with no JSON form.
   */
  bytesToJson(type: Type, bytes: Uint8Array, opts: WriteOptions): string;
  /**
   * The same JSON, for inputs that may be large: below {@link LARGE_INPUT} bytes exactly `bytesToJson`'s
   * string; from there on the UTF-8 bytes of that text as a list of Buffers, written in runs of about
   * {@link SPILL_CHARS} characters while the message is read (see {@link Spill}), so no string of the whole
   * text, nor the rope of small strings that builds it, is ever held. Throws what `bytesToJson` throws.
   */
  bytesToJsonChunks(type: Type, bytes: Uint8Array, opts: WriteOptions): string | Buffer[];
}

/** Inputs from this many bytes on get {@link WireJson.bytesToJsonChunks}'s chunked rendering. */
export const LARGE_INPUT = 32 * 1024;
/** A repeated field's or map's text is moved out of the V8 heap once it is this many characters long. */
export const SPILL_CHARS = 32 * 1024;

/**
 * Where a large rendering puts finished runs of JSON text, as UTF-8 Buffers outside V8's heap.
 *
 * Why: the one-pass writer builds a message's text by string concatenation, and V8 represents a long
 * concatenation as a rope (a ConsString per `+`, ~32 B each, plus every small piece). A 3 MiB JSON text of
 * 10,000 items allocated ~41 MB of rope and small strings, all reachable until the whole text was written
 * out, so it survived the young generation and was promoted (bench/RESULTS.md §13). Here, once a repeated
 * field's or map's text passes SPILL_CHARS, it is encoded to a Buffer and replaced in the text by a
 * placeholder naming its run: NUL, the run's index, SOH. Rendered JSON never holds a raw control
 * character (every string goes through jsonString or JSON.stringify, which escape U+0000–U+001F), so a
 * placeholder cannot be confused with text. `resolve` expands the placeholders of the final text, in order.
 */
class Spill {
  private readonly runs: Array<Buffer[] | undefined> = [];

  /** `text` as a placeholder for its bytes (the run of a placeholder it starts with is extended in place). */
  put(text: string): string {
    if (text.charCodeAt(0) === 0) {
      const end = text.indexOf('\u0001');
      const index = Number(text.slice(1, end));
      const run = this.runs[index]!;
      this.runs[index] = undefined;
      this.resolveFrom(text, end + 1, run);
      this.runs[index] = run;
      return text.slice(0, end + 1);
    }
    const run: Buffer[] = [];
    this.resolveFrom(text, 0, run);
    this.runs.push(run);
    return `\u0000${this.runs.length - 1}\u0001`;
  }

  /** The UTF-8 bytes of `text` with every placeholder expanded, appended to `out`. */
  resolve(text: string, out: Buffer[]): void {
    this.resolveFrom(text, 0, out);
  }

  private resolveFrom(text: string, from: number, out: Buffer[]): void {
    let at = from;
    for (let nul = text.indexOf('\u0000', at); nul >= 0; nul = text.indexOf('\u0000', at)) {
      if (nul > at) out.push(Buffer.from(text.slice(at, nul)));
      const end = text.indexOf('\u0001', nul);
      const index = Number(text.slice(nul + 1, end));
      const run = this.runs[index]!;
      this.runs[index] = undefined; // each placeholder is used once: its buffers now belong to `out`
      for (let i = 0; i < run.length; i++) out.push(run[i]!);
      at = end + 1;
    }
    if (at < text.length) out.push(Buffer.from(at === 0 ? text : text.slice(at)));
  }
}

/** Thrown inside the one-pass code to hand the whole input to decode + write. */
class NotOnePass extends Error {
  constructor() {
    super('not handled in one pass');
  }
}
const bail = (): never => {
  throw new NotOnePass();
};

/** Buffer's internal slicers (what protobufjs's BufferReader itself calls); not in @types/node. */
interface FastSlices {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  base64Slice(start: number, end: number): string;
}

/**
 * A read position over one Buffer: protobufjs's Reader (src/reader.js, reader_buffer.js) ported method by
 * method, same limits and quirks but one — a string running past the end of its message is an error, as in
 * binary.ts's StrictBufferReader, not cut short — except that every error becomes NotOnePass and 64-bit varints land in
 * `lo`/`hi` instead of a LongBits object. `len` is the end of the innermost message being read, as
 * protobufjs narrows `Reader.len` while it decodes a nested message.
 */
class Cursor {
  pos = 0;
  len: number;
  /** The two 32-bit halves (unsigned) of the last 64-bit value read. */
  lo = 0;
  hi = 0;
  /** Set for large inputs only (bytesToJsonChunks): where long repeated and map texts go. */
  spill: Spill | undefined = undefined;

  constructor(
    readonly buf: Buffer,
    /** protobufjs's Reader.recursionLimit at the time of the call. */
    readonly maxDepth: number,
  ) {
    this.len = buf.length;
  }

  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (this.len - pos < 5) {
      if (pos >= this.len) bail();
      if (buf[pos]! >= 128) return this.uint32NearEnd();
    }
    let b = buf[pos++]!;
    let value = b & 127;
    if (b < 128) return ((this.pos = pos), value);
    b = buf[pos++]!;
    value = (value | ((b & 127) << 7)) >>> 0;
    if (b < 128) return ((this.pos = pos), value);
    b = buf[pos++]!;
    value = (value | ((b & 127) << 14)) >>> 0;
    if (b < 128) return ((this.pos = pos), value);
    b = buf[pos++]!;
    value = (value | ((b & 127) << 21)) >>> 0;
    if (b < 128) return ((this.pos = pos), value);
    b = buf[pos++]!;
    value = (value | ((b & 15) << 28)) >>> 0;
    if (b < 128) return ((this.pos = pos), value);
    // A negative int32 is written as 10 bytes; protobufjs skips the last five without looking at them.
    if ((pos += 5) > this.len) bail();
    this.pos = pos;
    return value;
  }

  private uint32NearEnd(): number {
    let value = 0;
    for (let i = 0; i < 4; ++i) {
      if (this.pos >= this.len) bail();
      const b = this.buf[this.pos++]!;
      value = (value | ((b & 127) << (i * 7))) >>> 0;
      if (b < 128) return value;
    }
    return bail();
  }

  /** A 64-bit varint into lo/hi (protobufjs's readLongVarint, including its near-the-end shortcut). */
  varint64(): void {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let i = 0;
    let b: number;
    if (this.len - this.pos > 4) {
      for (; i < 4; ++i) {
        b = buf[this.pos++]!;
        lo = (lo | ((b & 127) << (i * 7))) >>> 0;
        if (b < 128) return this.set64(lo, hi);
      }
      b = buf[this.pos++]!;
      lo = (lo | ((b & 127) << 28)) >>> 0;
      hi = (hi | ((b & 127) >> 4)) >>> 0;
      if (b < 128) return this.set64(lo, hi);
      i = 0;
    } else {
      for (; i < 3; ++i) {
        if (this.pos >= this.len) bail();
        b = buf[this.pos++]!;
        lo = (lo | ((b & 127) << (i * 7))) >>> 0;
        if (b < 128) return this.set64(lo, hi);
      }
      // protobufjs reads the 4th byte unchecked and stops there; `?? 0` is what `undefined & 127` gives it.
      lo = (lo | (((buf[this.pos++] ?? 0) & 127) << (i * 7))) >>> 0;
      return this.set64(lo, hi);
    }
    if (this.len - this.pos > 4) {
      for (; i < 5; ++i) {
        b = buf[this.pos++]!;
        hi = (hi | ((b & 127) << (i * 7 + 3))) >>> 0;
        if (b < 128) return this.set64(lo, hi);
      }
    } else {
      for (; i < 5; ++i) {
        if (this.pos >= this.len) bail();
        b = buf[this.pos++]!;
        hi = (hi | ((b & 127) << (i * 7 + 3))) >>> 0;
        if (b < 128) return this.set64(lo, hi);
      }
    }
    bail();
  }

  /** A zigzag-encoded 64-bit varint (sint64) into lo/hi. */
  zigzag64(): void {
    this.varint64();
    const mask = -(this.lo & 1);
    const lo = (((this.lo >>> 1) | (this.hi << 31)) ^ mask) >>> 0;
    this.hi = ((this.hi >>> 1) ^ mask) >>> 0;
    this.lo = lo;
  }

  fixed32(): number {
    if (this.pos + 4 > this.len) bail();
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(): void {
    if (this.pos + 8 > this.len) bail();
    this.lo = this.buf.readUInt32LE(this.pos);
    this.hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
  }

  float(): number {
    if (this.pos + 4 > this.len) bail();
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.len) bail();
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length-delimited string, cut at `len` as protobufjs's BufferReader.string does. */
  string(): string {
    const length = this.uint32();
    const start = this.pos;
    if (start + length > this.len) bail();
    this.pos = start + length;
    return (this.buf as unknown as FastSlices).utf8Slice(start, this.pos);
  }

  /**
   * A length-delimited string (checked like `string()`) as a JSON string literal: `jsonString(string())`.
   * Short strings of printable ASCII without `"` or `\\` (ids, SKUs, currency codes: most of them) are built
   * here from the bytes, which is cheaper than the native utf8Slice call plus the escape test; the rest
   * take that path. Up to TINY_STRING bytes char by char; above, once checked, as one latin1Slice (the same
   * text for ASCII): V8 copies a string appended to while it is shorter than 13 characters and makes a cons
   * string per character after that, so building longer ones here left ~30 B of garbage per character.
   */
  stringJson(): string {
    const length = this.uint32();
    const start = this.pos;
    const end = start + length;
    if (end > this.len) bail();
    this.pos = end;
    const buf = this.buf;
    if (end - start <= TINY_STRING) {
      let s = '"';
      for (let i = start; i < end; i++) {
        const c = buf[i]!;
        if (c < 0x20 || c >= 0x80 || c === 0x22 || c === 0x5c) return jsonString((buf as unknown as FastSlices).utf8Slice(start, end));
        s += String.fromCharCode(c);
      }
      return `${s}"`;
    }
    if (end - start <= SHORT_STRING) {
      for (let i = start; i < end; i++) {
        const c = buf[i]!;
        if (c < 0x20 || c >= 0x80 || c === 0x22 || c === 0x5c) return jsonString((buf as unknown as FastSlices).utf8Slice(start, end));
      }
      return `"${(buf as unknown as FastSlices).latin1Slice(start, end)}"`;
    }
    return jsonString((buf as unknown as FastSlices).utf8Slice(start, end));
  }

  /** Reads a bytes length and returns where the value ends (the value starts at `pos`); a value past `len` bails. */
  bytesEnd(): number {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > this.len) bail();
    return end;
  }

  /** Skips a field of wire type `wireType` (protobufjs's skipType: groups nest, depth is bounded). */
  skipType(wireType: number, depth: number): void {
    if (depth > this.maxDepth) bail();
    switch (wireType) {
      case VARINT:
        do {
          if (this.pos >= this.len) bail();
        } while (this.buf[this.pos++]! & 128);
        return;
      case I64:
        this.skip(8);
        return;
      case LEN:
        this.skip(this.uint32());
        return;
      case SGROUP:
        for (let t = this.uint32() & 7; t !== EGROUP; t = this.uint32() & 7) this.skipType(t, depth + 1);
        return;
      case I32:
        this.skip(4);
        return;
      default:
        bail();
    }
  }

  private skip(n: number): void {
    if (this.pos + n > this.len) bail();
    this.pos += n;
  }

  private set64(lo: number, hi: number): void {
    this.lo = lo;
    this.hi = hi;
  }
}

/** Reads one message's fields from `cur.pos` up to `end`; `depth` is protobufjs's nesting count (root 0). */
type Render = (cur: Cursor, end: number, depth: number) => string;

/**
 * Reads one length-delimited message at `cur` with `render`, narrowing the cursor to it as protobufjs's
 * generated decoder does (length past the enclosing message, or a field running past its end → bail).
 */
function nested(cur: Cursor, depth: number, render: Render): string {
  const end = cur.uint32() + cur.pos;
  if (end > cur.len) bail();
  const outer = cur.len;
  cur.len = end;
  const text = render(cur, end, depth + 1);
  if (cur.pos !== end) bail();
  cur.len = outer;
  return text;
}

const TWO_POW_32 = 4294967296;
/** Strings up to this many bytes are tried on the ASCII path of `Cursor.stringJson` (measured: 16–32 similar). */
const SHORT_STRING = 24;
/** Up to this many bytes `Cursor.stringJson` builds the string char by char (V8's flat-copy range, < 13). */
const TINY_STRING = 12;

/** Seven decimal digits with leading zeros. */
function digits7(n: number): string {
  const s = String(n);
  return '0000000'.slice(s.length) + s;
}

/**
 * The decimal text of the unsigned 64-bit value hi·2^32 + lo (both uint32). Below 2^53 through a double;
 * above, in three base-10^7 digits from 24-bit limbs (the method of protobuf-javascript's
 * `joinUnsignedDecimalString`), so no Long or BigInt is built.
 */
export function uint64Text(lo: number, hi: number): string {
  if (hi <= 0x1fffff) return String(hi * TWO_POW_32 + lo);
  const low = lo & 0xffffff;
  const mid = ((lo >>> 24) | (hi << 8)) & 0xffffff;
  const high = (hi >>> 16) & 0xffff;
  // 2^24 = 1·10^7 + 6777216, 2^48 = 28147497·10^7 + 6710656: regroup the limbs by powers of 10^7.
  let a = low + mid * 6777216 + high * 6710656;
  let b = mid + high * 8147497;
  let c = high * 2;
  const base = 10_000_000;
  if (a >= base) {
    b += Math.floor(a / base);
    a %= base;
  }
  if (b >= base) {
    c += Math.floor(b / base);
    b %= base;
  }
  return c === 0 ? String(b) + digits7(a) : String(c) + digits7(b) + digits7(a);
}

/** The decimal text of a 64-bit value given as two uint32 halves, two's complement when signed. */
export function int64Text(lo: number, hi: number, unsigned: boolean): string {
  if (unsigned || hi < 0x80000000) return uint64Text(lo, hi);
  const nlo = (~lo + 1) >>> 0;
  const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
  return `-${uint64Text(nlo, nhi)}`;
}

/** The writer of one scalar or enum kind under one option set. */
interface ScalarKind {
  /** The wire type protobuf writes a single value with. */
  readonly wire: number;
  /** Whether a repeated field of this kind may also arrive packed (as one LEN field). */
  readonly packable: boolean;
  /** Reads one value and returns its JSON text. */
  text(cur: Cursor): string;
  /** Reads one value: its JSON text, or undefined for the kind's default (omitted under implicit presence). */
  implicit(cur: Cursor): string | undefined;
}

/** A number-valued kind: `read` one value, `toText` formats it, `isDefault` is presence.ts's test. */
function numberKind(
  wire: number,
  read: (cur: Cursor) => number,
  toText: (n: number) => string,
  isDefault: (n: number) => boolean = (n) => n === 0,
): ScalarKind {
  return {
    wire,
    packable: true,
    text: (cur) => toText(read(cur)),
    implicit: (cur) => {
      const n = read(cur);
      return isDefault(n) ? undefined : toText(n);
    },
  };
}

function int64Kind(wire: number, read: (cur: Cursor) => void, unsigned: boolean, quoted: boolean): ScalarKind {
  const text = (cur: Cursor): string => {
    read(cur);
    const s = int64Text(cur.lo, cur.hi, unsigned);
    return quoted ? `"${s}"` : s;
  };
  return {
    wire,
    packable: true,
    text,
    implicit: (cur) => {
      const s = text(cur);
      return cur.lo === 0 && cur.hi === 0 ? undefined : s;
    },
  };
}

/** -0 and NaN are not defaults: protobuf-go compares bits (presence.ts). */
const isZeroDouble = (n: number): boolean => n === 0 && !Object.is(n, -0);

/** The ScalarKind of a proto scalar type, as write.ts's scalarWriter formats it. */
function scalarKind(protoType: string, opts: WriteOptions): ScalarKind {
  switch (protoType) {
    case 'int32':
      return numberKind(VARINT, (c) => c.uint32() | 0, String);
    case 'uint32':
      return numberKind(VARINT, (c) => c.uint32(), String);
    case 'sint32':
      return numberKind(VARINT, (c) => {
        const v = c.uint32();
        return ((v >>> 1) ^ -(v & 1)) | 0;
      }, String);
    case 'fixed32':
      return numberKind(I32, (c) => c.fixed32(), String);
    case 'sfixed32':
      return numberKind(I32, (c) => c.fixed32() | 0, String);
    case 'int64':
      return int64Kind(VARINT, (c) => c.varint64(), false, !opts.int64AsNumbers);
    case 'uint64':
      return int64Kind(VARINT, (c) => c.varint64(), true, !opts.int64AsNumbers);
    case 'sint64':
      return int64Kind(VARINT, (c) => c.zigzag64(), false, !opts.int64AsNumbers);
    case 'fixed64':
      return int64Kind(I64, (c) => c.fixed64(), true, !opts.int64AsNumbers);
    case 'sfixed64':
      return int64Kind(I64, (c) => c.fixed64(), false, !opts.int64AsNumbers);
    case 'double':
      return numberKind(I64, (c) => c.double(), doubleToJson, isZeroDouble);
    case 'float':
      return numberKind(I32, (c) => c.float(), floatToJson, isZeroDouble);
    case 'bool':
      return numberKind(VARINT, (c) => (c.uint32() !== 0 ? 1 : 0), (n) => (n === 1 ? 'true' : 'false'));
    case 'string':
      return {
        wire: LEN,
        packable: false,
        text: (cur) => cur.stringJson(),
        implicit: (cur) => {
          const s = cur.stringJson();
          return s === '""' ? undefined : s;
        },
      };
    case 'bytes':
      return { wire: LEN, packable: false, text: (cur) => bytesText(cur, '""'), implicit: (cur) => bytesText(cur, undefined) };
    default:
      throw new Error(`codec: unsupported field type ${protoType}`);
  }
}

/** A bytes value as standard padded base64 in quotes (write.ts's bytesToBase64), or `empty` when it has none. */
function bytesText<E extends string | undefined>(cur: Cursor, empty: E): string | E {
  const end = cur.bytesEnd();
  if (end === cur.pos) return empty;
  const s = (cur.buf as unknown as FastSlices).base64Slice(cur.pos, end);
  cur.pos = end;
  return `"${s}"`;
}

/** An enum kind: names as write.ts's enumWriter picks them (the first name of each number), or numbers. */
function enumKind(e: Enum, opts: WriteOptions): ScalarKind {
  let toText: (n: number) => string;
  if (e.fullName === WKT.nullValue) {
    toText = () => 'null'; // protobuf-go writes null even with enum numbers
  } else if (opts.enumsAsNumbers) {
    toText = String;
  } else {
    const names = new Map<number, string>();
    for (const [name, num] of Object.entries(e.values)) if (!names.has(num)) names.set(num, JSON.stringify(name));
    toText = (n) => names.get(n) ?? String(n);
  }
  return numberKind(VARINT, (c) => c.uint32() | 0, toText);
}

/**
 * The JSON of an unset implicit-presence field under emitUnpopulated: write.ts's elementDefault (for enums
 * the name of number 0, or the first name when the enum has no 0).
 */
function unpopulatedScalar(field: Field, opts: WriteOptions): string {
  const t = field.resolvedType;
  if (t instanceof protobuf.Enum) {
    if (t.fullName === WKT.nullValue) return 'null';
    const first = t.valuesById[0] ?? Object.keys(t.values)[0] ?? '';
    return opts.enumsAsNumbers ? String(t.values[first] ?? 0) : JSON.stringify(first);
  }
  switch (field.type) {
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return opts.int64AsNumbers ? '0' : '"0"';
    case 'bool':
      return 'false';
    case 'string':
    case 'bytes':
      return '""';
    default:
      return '0';
  }
}

/** The JSON text of the zero value of `kind` (protobufjs's default for a map entry without a value). */
function zeroText(kind: ScalarKind): string {
  // Eight zero bytes read as any kind give its zero: varint 0, fixed 0, 0.0, or a length-0 string.
  return kind.text(new Cursor(Buffer.alloc(8), 0));
}

/** How an unset or empty field is treated when the message is written (write.ts's Presence). */
const enum Slot {
  Implicit,
  Explicit,
  Repeated,
  Map,
}

/** A map's entries in wire order: keys as the decoded object's property names, values as JSON text. */
interface MapSlot {
  readonly keys: string[];
  readonly values: string[];
}
/** Per field of the message being read: its JSON so far (elements joined by commas for repeated fields). */
type Slots = Array<string | MapSlot | undefined>;
/** Reads one occurrence of a field (its tag already read) into `slots`. */
type Handler = (cur: Cursor, wireType: number, slots: Slots, depth: number) => void;

/**
 * Writes a map's entries in the order write.ts sees them: the key order of the JavaScript object protobufjs
 * decodes into (array-index keys first, ascending; then first-insertion order; a repeated key keeps its
 * first place and takes its last value). Small maps whose keys are neither repeated nor start with a digit
 * are already in that order and are written straight from the arrays; the others go through an object.
 */
function mapText(map: MapSlot, spill: Spill | undefined): string {
  const { keys, values } = map;
  let out = '';
  let sep = '';
  if (inObjectOrder(keys)) {
    for (let i = 0; i < keys.length; i++) {
      out += sep + jsonString(keys[i]!) + ':' + values[i]!;
      sep = ',';
    }
  } else {
    const obj = Object.create(null) as Record<string, string>; // "__proto__" is a plain key, as in protobufjs
    for (let i = 0; i < keys.length; i++) obj[keys[i]!] = values[i]!;
    for (const k of Object.keys(obj)) {
      out += sep + jsonString(k) + ':' + obj[k]!;
      sep = ',';
      if (spill !== undefined && out.length > SPILL_CHARS) out = spill.put(out);
    }
  }
  return `{${out}}`;
}

/** Up to this many entries, `inObjectOrder` compares keys pairwise; larger maps always use an object. */
const SMALL_MAP = 16;

/** Whether an object given `keys` in this order would list them in the same order, each once. */
function inObjectOrder(keys: readonly string[]): boolean {
  if (keys.length > SMALL_MAP) return false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const c = k.charCodeAt(0);
    if (c >= 0x30 && c <= 0x39) return false; // may be an array index, which objects list first
    for (let j = 0; j < i; j++) if (keys[j] === k) return false;
  }
  return true;
}

const INT64_KEYS: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** The key text of a map entry, read as protobufjs reads map keys (the decoded object's property name). */
function mapKeyReader(keyType: string): { wire: number; read: (cur: Cursor) => string; missing: string | undefined } {
  switch (keyType) {
    case 'string':
      return { wire: LEN, read: (c) => c.string(), missing: '' };
    case 'bool':
      return { wire: VARINT, read: (c) => (c.uint32() !== 0 ? 'true' : 'false'), missing: 'false' };
    case 'int32':
      return { wire: VARINT, read: (c) => String(c.uint32() | 0), missing: '0' };
    case 'uint32':
      return { wire: VARINT, read: (c) => String(c.uint32()), missing: '0' };
    case 'sint32':
      return { wire: VARINT, read: (c) => {
        const v = c.uint32();
        return String(((v >>> 1) ^ -(v & 1)) | 0);
      }, missing: '0' };
    case 'fixed32':
      return { wire: I32, read: (c) => String(c.fixed32()), missing: '0' };
    case 'sfixed32':
      return { wire: I32, read: (c) => String(c.fixed32() | 0), missing: '0' };
    // 64-bit keys: binary.ts turns protobufjs's hash keys into decimal; an entry with no key is keyed "0".
    case 'int64':
      return { wire: VARINT, read: (c) => (c.varint64(), int64Text(c.lo, c.hi, false)), missing: '0' };
    case 'uint64':
      return { wire: VARINT, read: (c) => (c.varint64(), int64Text(c.lo, c.hi, true)), missing: '0' };
    case 'sint64':
      return { wire: VARINT, read: (c) => (c.zigzag64(), int64Text(c.lo, c.hi, false)), missing: '0' };
    case 'fixed64':
      return { wire: I64, read: (c) => (c.fixed64(), int64Text(c.lo, c.hi, true)), missing: '0' };
    case 'sfixed64':
      return { wire: I64, read: (c) => (c.fixed64(), int64Text(c.lo, c.hi, false)), missing: '0' };
    default:
      throw new Error(`codec: unsupported map key type ${keyType}`);
  }
}

/** protobufjs's generated `decode(reader, length, end, depth)`; the typings declare only the first two. */
type DecodeAt = (reader: protobuf.Reader, length: number, end: undefined, depth: number) => protobuf.Message;

/** Bits of the WriteOptions that change the output, as an index into the per-type renderer arrays. */
function optionsKey(opts: WriteOptions): number {
  return (opts.emitUnpopulated ? 1 : 0) | (opts.useProtoNames ? 2 : 0) | (opts.enumsAsNumbers ? 4 : 0) | (opts.int64AsNumbers ? 8 : 0);
}

/** Whether protobufjs's decoder needs checks the one-pass reader does not port: groups, required fields. */
function needsDecoder(type: Type): boolean {
  const seen = new Set<Type>([type]);
  const queue = [type];
  for (let i = 0; i < queue.length; i++) {
    for (const f of queue[i]!.fieldsArray) {
      if (f.required || f.delimited) return true;
      const t = f.resolvedType;
      if (t instanceof protobuf.Type && !seen.has(t)) {
        seen.add(t);
        queue.push(t);
      }
    }
  }
  return false;
}

/**
 * @private Compiles one-pass renderers over the codec's writer (for the types written through decode +
 * write and for the fallback) and binary codec (the two-pass path). Caches are Maps owned by the instance.
 */
export function createWireJson(writer: Writer, binary: BinaryCodec): WireJson {
  /** Per type: whether it is left to decode + write whole, and its renderers by option-set key. */
  const compiled = new Map<Type, { decoderOnly: boolean; byOpts: Array<Render | undefined> }>();
  /**
   * Kinds are shared by every field they format (by proto type and the int64 option; by enum and the enum
   * option): a kind made per field is an object and two closures that every compiled type keeps for the
   * process's life, and a large API set compiles thousands of fields. Sharing also gives each field
   * reader's call to `kind.text` fewer targets.
   */
  const scalarKinds = new Map<string, ScalarKind>();
  const enumKinds = new Map<Enum, ScalarKind>();
  const enumNumberKinds = new Map<Enum, ScalarKind>();
  const kindOf = (t: Enum | null, protoType: string, opts: WriteOptions): ScalarKind => {
    if (t !== null) {
      const cache = opts.enumsAsNumbers ? enumNumberKinds : enumKinds;
      let kind = cache.get(t);
      if (kind === undefined) cache.set(t, (kind = enumKind(t, opts)));
      return kind;
    }
    const key = opts.int64AsNumbers ? `${protoType}#` : protoType;
    let kind = scalarKinds.get(key);
    if (kind === undefined) scalarKinds.set(key, (kind = scalarKind(protoType, opts)));
    return kind;
  };

  const entryOf = (type: Type): { decoderOnly: boolean; byOpts: Array<Render | undefined> } => {
    let entry = compiled.get(type);
    if (entry === undefined) {
      entry = { decoderOnly: needsDecoder(type), byOpts: [] };
      compiled.set(type, entry);
    }
    return entry;
  };

  const renderOf = (type: Type, opts: WriteOptions, key: number): Render => {
    const byOpts = entryOf(type).byOpts;
    let r = byOpts[key];
    if (r === undefined) {
      r = compileMessage(type, opts, key);
      byOpts[key] = r;
    }
    return r;
  };

  /** Resolved on first use, so recursive types compile. */
  const lazyRender = (type: Type, opts: WriteOptions, key: number): Render => {
    let r: Render | undefined;
    return (cur, end, depth) => (r ??= renderOf(type, opts, key))(cur, end, depth);
  };

  // ---- messages ----

  const compileMessage = (type: Type, opts: WriteOptions, key: number): Render => {
    const name = type.fullName;
    if (WRAPPERS.has(name)) return compileWrapper(type, opts);
    switch (name) {
      case WKT.timestamp:
      case WKT.duration:
        return compileSecondsNanos(type, opts, name === WKT.timestamp ? timestampToText : durationToText);
      case WKT.fieldMask:
        return compileFieldMask(type, opts);
      case WKT.any:
        return compileAny(type, opts);
      case WKT.struct:
      case WKT.value:
      case WKT.listValue:
        return viaDecode(type, opts); // rare in responses: not worth a one-pass writer
      default:
        return compileFields(type, opts, key);
    }
  };

  /**
   * Decodes the message with protobufjs (at the depth protobufjs would be at) and writes it with write.ts.
   * Any protobufjs error bails, so the two-pass path reports it for the whole input.
   */
  const viaDecode = (type: Type, opts: WriteOptions): Render => {
    const write = writer.message(type);
    return (cur, end, depth) => {
      const r = new StrictBufferReader(cur.buf);
      r.pos = cur.pos;
      r.len = end;
      let msg: protobuf.Message;
      try {
        msg = (type.decode as unknown as DecodeAt).call(type, r, end - cur.pos, undefined, depth);
      } catch {
        return bail();
      }
      cur.pos = r.pos;
      return write(msg as unknown as Record<string, unknown>, opts, depth + 1);
    };
  };

  const compileFields = (type: Type, opts: WriteOptions, key: number): Render => {
    const fields = type.fieldsArray;
    const count = fields.length;
    // Every table is made at its final length (map, or an array sized once): grown by push, each would keep
    // spare capacity for the process's life, in every compiled type.
    const outNames = fields.map((field) => JSON.stringify(opts.useProtoNames ? field.name : jsonNameOf(field)));
    const keys = outNames.map((n) => `${n}:`);
    const keysAfter = outNames.map((n) => `,${n}:`);
    const plans = fields.map((field, i) => compileField(field, i, opts, key));
    const slotKinds = plans.map((p) => p.slot);
    /** JSON written for an unset field under emitUnpopulated; undefined: not written (oneof members). */
    const unpopulated = plans.map((p) => (!opts.emitUnpopulated ? undefined : p.unpopulated));
    // By field number: sized once unless the numbers are sparse, which V8 keeps as a dictionary either way.
    const maxId = fields.reduce((max, f) => Math.max(max, f.id), 0);
    const handlers: Array<Handler | undefined> = maxId < 4 * count + 16 ? new Array<Handler | undefined>(maxId + 1) : [];
    fields.forEach((field, i) => {
      const plan = plans[i]!;
      const others = field.partOf === null ? [] : field.partOf.fieldsArray.filter((f) => f !== field).map((f) => fields.indexOf(f));
      // Setting a oneof member clears the others: the last member on the wire wins.
      handlers[field.id] = others.length === 0 ? plan.read : (cur, wireType, slots, depth) => {
        for (let j = 0; j < others.length; j++) slots[others[j]!] = undefined;
        plan.read(cur, wireType, slots, depth);
      };
    });
    return (cur, end, depth) => {
      if (depth > cur.maxDepth) bail();
      const slots: Slots = new Array<string | MapSlot | undefined>(count);
      while (cur.pos < end) {
        const tag = cur.uint32();
        const read = handlers[tag >>> 3];
        if (read === undefined) cur.skipType(tag & 7, depth);
        else read(cur, tag & 7, slots, depth);
      }
      let out = '';
      for (let i = 0; i < count; i++) {
        const v = slots[i];
        let text: string;
        if (v === undefined) {
          const d = unpopulated[i];
          if (d === undefined) continue;
          text = d;
        } else {
          switch (slotKinds[i]) {
            case Slot.Repeated:
              text = `[${v as string}]`;
              break;
            case Slot.Map:
              text = mapText(v as MapSlot, cur.spill);
              break;
            default:
              text = v as string;
          }
        }
        out += (out === '' ? keys[i]! : keysAfter[i]!) + text;
      }
      return `{${out}}`;
    };
  };

  /** How one field is read and what it writes when unset. */
  const compileField = (field: Field, i: number, opts: WriteOptions, key: number): { read: Handler; slot: Slot; unpopulated: string | undefined } => {
    if (field.map) return { read: mapHandler(field, i, opts, key), slot: Slot.Map, unpopulated: '{}' };
    const t = field.resolvedType;
    if (t instanceof protobuf.Type) {
      const sub = lazyRender(t, opts, key);
      if (field.repeated) {
        return {
          read: (cur, wireType, slots, depth) => {
            if (wireType !== LEN) bail();
            const text = nested(cur, depth, sub);
            const prev = slots[i] as string | undefined;
            const all = prev === undefined ? text : `${prev},${text}`;
            slots[i] = cur.spill !== undefined && all.length > SPILL_CHARS ? cur.spill.put(all) : all;
          },
          slot: Slot.Repeated,
          unpopulated: '[]',
        };
      }
      return {
        read: (cur, wireType, slots, depth) => {
          // A second occurrence merges into the first (protobuf's rule): left to decode + write, as rare.
          if (wireType !== LEN || slots[i] !== undefined) bail();
          slots[i] = nested(cur, depth, sub);
        },
        slot: Slot.Explicit,
        unpopulated: field.partOf !== null ? undefined : 'null',
      };
    }
    const kind = kindOf(t instanceof protobuf.Enum ? t : null, field.type, opts);
    if (field.repeated) {
      const append = (cur: Cursor, slots: Slots): void => {
        const text = kind.text(cur);
        const prev = slots[i] as string | undefined;
        const all = prev === undefined ? text : `${prev},${text}`;
        slots[i] = cur.spill !== undefined && all.length > SPILL_CHARS ? cur.spill.put(all) : all;
      };
      return {
        read: (cur, wireType, slots) => {
          if (wireType === kind.wire) {
            append(cur, slots);
          } else if (wireType === LEN && kind.packable) {
            // Packed, whatever the declaration says (protobufjs accepts both forms, as the spec requires).
            const end = cur.uint32() + cur.pos;
            if (end > cur.len) bail();
            const outer = cur.len;
            cur.len = end;
            while (cur.pos < end) append(cur, slots);
            if (cur.pos !== end) bail();
            cur.len = outer;
          } else {
            bail();
          }
        },
        slot: Slot.Repeated,
        unpopulated: '[]',
      };
    }
    if (hasExplicitPresence(field)) {
      return {
        read: (cur, wireType, slots) => {
          if (wireType !== kind.wire) bail();
          slots[i] = kind.text(cur);
        },
        slot: Slot.Explicit,
        unpopulated: field.partOf !== null ? undefined : 'null',
      };
    }
    return {
      read: (cur, wireType, slots) => {
        if (wireType !== kind.wire) bail();
        slots[i] = kind.implicit(cur); // a later default value unsets the field again
      },
      slot: Slot.Implicit,
      unpopulated: unpopulatedScalar(field, opts),
    };
  };

  /** A map entry: key (field 1) and value (field 2), each defaulted when absent, last one wins. */
  const mapHandler = (field: Field, i: number, opts: WriteOptions, key: number): Handler => {
    const keyReader = mapKeyReader(mapKeyTypeOf(field));
    const t = field.resolvedType;
    let readValue: (cur: Cursor, depth: number) => string;
    let valueWire: number;
    let missingValue: (cur: Cursor, depth: number) => string;
    const valueIsMessage = t instanceof protobuf.Type;
    if (t instanceof protobuf.Type) {
      const sub = lazyRender(t, opts, key);
      readValue = (cur, depth) => nested(cur, depth, sub);
      valueWire = LEN;
      // protobufjs leaves the value null; write.ts writes null as the empty message, i.e. an empty range.
      missingValue = (cur, depth) => sub(cur, cur.pos, depth + 1);
    } else {
      const kind = kindOf(t instanceof protobuf.Enum ? t : null, field.type, opts);
      const zero = zeroText(kind);
      readValue = (cur) => kind.text(cur);
      valueWire = kind.wire;
      missingValue = () => zero;
    }
    return (cur, wireType, slots, depth) => {
      if (wireType !== LEN) bail();
      const end = cur.uint32() + cur.pos;
      if (end > cur.len) bail();
      const outer = cur.len;
      cur.len = end;
      let k = keyReader.missing;
      let v: string | undefined;
      while (cur.pos < end) {
        const tag = cur.uint32();
        switch (tag >>> 3) {
          case 1:
            if ((tag & 7) !== keyReader.wire) bail();
            k = keyReader.read(cur);
            break;
          case 2:
            // A message value twice in one entry merges (protobuf's rule): left to decode + write.
            if ((tag & 7) !== valueWire || (v !== undefined && valueIsMessage)) bail();
            v = readValue(cur, depth);
            break;
          default:
            cur.skipType(tag & 7, depth);
        }
      }
      if (cur.pos !== end) bail();
      if (k === undefined) return bail();
      const text = v ?? missingValue(cur, depth);
      cur.len = outer;
      const map = slots[i] as MapSlot | undefined;
      if (map === undefined) {
        slots[i] = { keys: [k], values: [text] };
      } else {
        map.keys.push(k);
        map.values.push(text);
      }
    };
  };

  // ---- well-known types ----

  /** A wrapper: the JSON of its `value` (field 1), the default when absent (write.ts's wrapper writer). */
  const compileWrapper = (type: Type, opts: WriteOptions): Render => {
    const inner = type.fieldsById[1];
    if (inner === undefined || inner.repeated || !(inner.resolvedType === null)) return viaDecode(type, opts);
    const kind = kindOf(null, inner.type, opts);
    const dflt = unpopulatedScalar(inner, opts);
    return (cur, end, depth) => {
      if (depth > cur.maxDepth) bail();
      let text: string | undefined;
      while (cur.pos < end) {
        const tag = cur.uint32();
        if (tag >>> 3 === 1) {
          if ((tag & 7) !== kind.wire) bail();
          text = kind.text(cur);
        } else {
          cur.skipType(tag & 7, depth);
        }
      }
      return text ?? dflt;
    };
  };

  /** Timestamp and Duration: int64 seconds (field 1) and int32 nanos (field 2) → their string form. */
  const compileSecondsNanos = (type: Type, opts: WriteOptions, toText: (seconds: number, nanos: number) => string): Render => {
    if (type.fieldsById[1]?.type !== 'int64' || type.fieldsById[2]?.type !== 'int32') return viaDecode(type, opts);
    return (cur, end, depth) => {
      if (depth > cur.maxDepth) bail();
      let seconds = 0;
      let nanos = 0;
      while (cur.pos < end) {
        const tag = cur.uint32();
        switch (tag >>> 3) {
          case 1:
            if ((tag & 7) !== VARINT) bail();
            cur.varint64();
            // hi·2^32 is exact and the sum rounds once: the same double as Number(decimal) in write.ts.
            seconds = (cur.hi | 0) * TWO_POW_32 + cur.lo;
            break;
          case 2:
            if ((tag & 7) !== VARINT) bail();
            nanos = cur.uint32() | 0;
            break;
          default:
            cur.skipType(tag & 7, depth);
        }
      }
      // Out of range values fail here with a PathError; the two-pass path then raises it with its path.
      return `"${toText(seconds, nanos)}"`;
    };
  };

  /** FieldMask: its paths (field 1) in lowerCamelCase, comma-joined into one string. */
  const compileFieldMask = (type: Type, opts: WriteOptions): Render => {
    if (type.fieldsById[1]?.type !== 'string' || !type.fieldsById[1].repeated) return viaDecode(type, opts);
    return (cur, end, depth) => {
      if (depth > cur.maxDepth) bail();
      let out = '';
      let sep = '';
      while (cur.pos < end) {
        const tag = cur.uint32();
        if (tag >>> 3 === 1) {
          if ((tag & 7) !== LEN) bail();
          const path = fieldMaskPathToJson(cur.string());
          if (path === undefined) return fail('field mask path has no lowerCamelCase JSON form');
          out += sep + path;
          sep = ',';
        } else {
          cur.skipType(tag & 7, depth);
        }
      }
      return JSON.stringify(out);
    };
  };

  /** Any: type URL (field 1) and payload (field 2) read here, written by write.ts's `any`. */
  const compileAny = (type: Type, opts: WriteOptions): Render => {
    if (type.fieldsById[1]?.type !== 'string' || type.fieldsById[2]?.type !== 'bytes') return viaDecode(type, opts);
    return (cur, end, depth) => {
      if (depth > cur.maxDepth) bail();
      let url = '';
      let start = 0;
      let stop = 0;
      while (cur.pos < end) {
        const tag = cur.uint32();
        switch (tag >>> 3) {
          case 1:
            if ((tag & 7) !== LEN) bail();
            url = cur.string();
            break;
          case 2:
            if ((tag & 7) !== LEN) bail();
            stop = cur.bytesEnd();
            start = cur.pos;
            cur.pos = stop;
            break;
          default:
            cur.skipType(tag & 7, depth);
        }
      }
      // write.ts's Any writer runs at the message's write depth, which is one more than protobufjs's.
      return writer.any(url, cur.buf.subarray(start, stop), opts, depth + 1);
    };
  };

  const twoPass = (type: Type, bytes: Uint8Array, opts: WriteOptions): string =>
    writer.message(type)(binary.decode(type, bytes), opts, 1);

  const bytesToJson = (type: Type, bytes: Uint8Array, opts: WriteOptions): string => {
    const entry = entryOf(type);
    if (entry.decoderOnly || !Buffer.isBuffer(bytes)) return twoPass(type, bytes, opts);
    const key = optionsKey(opts);
    const render = entry.byOpts[key] ?? renderOf(type, opts, key);
    try {
      return render(new Cursor(bytes, protobuf.Reader.recursionLimit), bytes.length, 0);
    } catch (err) {
      if (err instanceof NotOnePass || err instanceof PathError) return twoPass(type, bytes, opts);
      throw err;
    }
  };

  return {
    bytesToJson,
    bytesToJsonChunks(type, bytes, opts) {
      if (bytes.length < LARGE_INPUT) return bytesToJson(type, bytes, opts);
      const entry = entryOf(type);
      let text: string | undefined;
      const out: Buffer[] = [];
      if (!entry.decoderOnly && Buffer.isBuffer(bytes)) {
        const key = optionsKey(opts);
        const render = entry.byOpts[key] ?? renderOf(type, opts, key);
        const cur = new Cursor(bytes, protobuf.Reader.recursionLimit);
        const spill = new Spill();
        cur.spill = spill;
        try {
          spill.resolve(render(cur, bytes.length, 0), out);
          return out;
        } catch (err) {
          if (!(err instanceof NotOnePass || err instanceof PathError)) throw err;
        }
      }
      // The two-pass path's text (one string: rare input) as bytes all the same, so callers see one shape.
      text = twoPass(type, bytes, opts);
      return [Buffer.from(text)];
    },
  };
}
