/**
 * HPACK (RFC 7541) for attache's HTTP/2 client: a full decoder for what servers send, and an encoder that
 * needs no dynamic table.
 *
 * Decoder: static table (Appendix A), dynamic table with evictions and size updates (§4, §6.3), integers with
 * any prefix (§5.1), string literals raw or Huffman-coded (§5.2, huffman.ts). Errors throw
 * {@link HpackError}, which the session turns into a connection error COMPRESSION_ERROR (RFC 9113 §4.3: the
 * decoding context is lost, so the connection cannot go on).
 *
 * Encoder: literals "without indexing" (§6.2.2) with a static-table name index when there is one, and raw
 * (not Huffman) strings. Not inserting into the peer's dynamic table costs a few octets per call on a
 * loopback or LAN link and saves keeping an encoder table in step with the peer's SETTINGS_HEADER_TABLE_SIZE.
 * The constant part of a call's header block (method, scheme, path, authority, content-type, te, user-agent,
 * grpc-accept-encoding) is encoded once per method path by the caller ({@link encodeFields} with a prefix).
 */
import { buildTable, huffmanDecode, type HuffmanTable } from './huffman.js';

/** RFC 7541 Appendix A: index i is STATIC[2(i-1)], STATIC[2(i-1)+1]. */
const STATIC: readonly string[] = [
  ':authority', '', ':method', 'GET', ':method', 'POST', ':path', '/', ':path', '/index.html', ':scheme', 'http',
  ':scheme', 'https', ':status', '200', ':status', '204', ':status', '206', ':status', '304', ':status', '400',
  ':status', '404', ':status', '500', 'accept-charset', '', 'accept-encoding', 'gzip, deflate', 'accept-language', '',
  'accept-ranges', '', 'accept', '', 'access-control-allow-origin', '', 'age', '', 'allow', '', 'authorization', '',
  'cache-control', '', 'content-disposition', '', 'content-encoding', '', 'content-language', '', 'content-length', '',
  'content-location', '', 'content-range', '', 'content-type', '', 'cookie', '', 'date', '', 'etag', '', 'expect', '',
  'expires', '', 'from', '', 'host', '', 'if-match', '', 'if-modified-since', '', 'if-none-match', '', 'if-range', '',
  'if-unmodified-since', '', 'last-modified', '', 'link', '', 'location', '', 'max-forwards', '', 'proxy-authenticate', '',
  'proxy-authorization', '', 'range', '', 'referer', '', 'refresh', '', 'retry-after', '', 'server', '', 'set-cookie', '',
  'strict-transport-security', '', 'transfer-encoding', '', 'user-agent', '', 'vary', '', 'via', '', 'www-authenticate', '',
];
const STATIC_COUNT = STATIC.length / 2;
/** RFC 7541 §4.1: an entry's size is its name's and value's octets plus 32. */
const ENTRY_OVERHEAD = 32;
/** Integers above this are not header-sized and end decoding (a peer cannot make us loop or overflow). */
const MAX_INT = 2 ** 28;

/** A header block that cannot be decoded (RFC 7541 §2.3.3, §4.2, §5.1, §5.2, §6): COMPRESSION_ERROR. */
export class HpackError extends Error {}

/**
 * The decoding context of one connection. `decode` must see every header block of the connection, in
 * order (RFC 7541 §2.2), including those of streams the caller no longer cares about.
 */
export class HpackDecoder {
  /** The dynamic table, oldest first: name, value, name, value… (index 62 is the newest, at the end). */
  private table: string[] = [];
  private size = 0;
  private maxSize: number;
  private readonly huffman: HuffmanTable = buildTable();

  /** `limit`: our SETTINGS_HEADER_TABLE_SIZE (4096 unless we advertise another). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  /** The dynamic table's current size in RFC 7541 octets (for tests). */
  get tableSize(): number {
    return this.size;
  }

  /** The dynamic table, newest first, as [name, value] pairs (for tests). */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = this.table.length - 2; i >= 0; i -= 2) out.push([this.table[i]!, this.table[i + 1]!]);
    return out;
  }

  /**
   * Decodes one complete header block into `out` as name, value, name, value… (names as sent: HTTP/2
   * requires lowercase, which the caller checks). Throws {@link HpackError}.
   */
  decode(block: Buffer, out: string[]): void {
    const end = block.length;
    let pos = 0;
    let fieldSeen = false;
    while (pos < end) {
      const b = block[pos]!;
      if (b >= 0x80) {
        // §6.1 indexed header field.
        const r = readInt(block, pos, 7);
        pos = r.pos;
        this.emitIndexed(r.value, out);
        fieldSeen = true;
      } else if (b >= 0x40 || b < 0x20) {
        // §6.2.1 with incremental indexing (6-bit index), §6.2.2 without / §6.2.3 never indexed (4-bit).
        const indexing = b >= 0x40;
        const r = readInt(block, pos, indexing ? 6 : 4);
        pos = r.pos;
        let name: string;
        if (r.value === 0) {
          const s = this.readString(block, pos);
          name = s.text;
          pos = s.pos;
        } else name = this.nameAt(r.value);
        const v = this.readString(block, pos);
        pos = v.pos;
        out.push(name, v.text);
        if (indexing) this.insert(name, v.text);
        fieldSeen = true;
      } else {
        // §6.3 dynamic table size update: only at the start of a block (§4.2), at most our limit.
        if (fieldSeen) throw new HpackError('dynamic table size update after a header field');
        const r = readInt(block, pos, 5);
        pos = r.pos;
        if (r.value > this.limit) throw new HpackError(`dynamic table size update to ${r.value} above the limit ${this.limit}`);
        this.maxSize = r.value;
        this.evict(0);
      }
    }
  }

  private emitIndexed(index: number, out: string[]): void {
    if (index === 0) throw new HpackError('indexed header field with index 0');
    if (index <= STATIC_COUNT) {
      out.push(STATIC[2 * index - 2]!, STATIC[2 * index - 1]!);
      return;
    }
    const at = this.table.length - 2 * (index - STATIC_COUNT);
    if (at < 0) throw new HpackError(`header index ${index} beyond the dynamic table`);
    out.push(this.table[at]!, this.table[at + 1]!);
  }

  private nameAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC[2 * index - 2]!;
    const at = this.table.length - 2 * (index - STATIC_COUNT);
    if (at < 0) throw new HpackError(`header name index ${index} beyond the dynamic table`);
    return this.table[at]!;
  }

  private readString(block: Buffer, pos: number): { text: string; pos: number } {
    if (pos >= block.length) throw new HpackError('truncated header block');
    const huffman = (block[pos]! & 0x80) !== 0;
    const r = readInt(block, pos, 7);
    const start = r.pos;
    const stop = start + r.value;
    if (stop > block.length) throw new HpackError('string literal longer than the header block');
    let text: string;
    if (!huffman) text = block.toString('latin1', start, stop);
    else {
      try {
        text = huffmanDecode(this.huffman, block, start, stop);
      } catch (err) {
        throw new HpackError((err as Error).message);
      }
    }
    return { text, pos: stop };
  }

  /** §4.4: evicts until the new entry fits, then adds it (an entry larger than the table empties it). */
  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(size);
    if (size > this.maxSize) return;
    this.table.push(name, value);
    this.size += size;
  }

  /** §4.3/§4.4: drops the oldest entries until `room` more octets fit under the maximum. */
  private evict(room: number): void {
    let drop = 0;
    while (this.size + room > this.maxSize && drop < this.table.length) {
      this.size -= this.table[drop]!.length + this.table[drop + 1]!.length + ENTRY_OVERHEAD;
      drop += 2;
    }
    if (drop > 0) this.table.splice(0, drop);
  }
}

/** §5.1: an integer with an N-bit prefix at `pos`. */
function readInt(block: Uint8Array, pos: number, bits: number): { value: number; pos: number } {
  const mask = (1 << bits) - 1;
  let value = block[pos++]! & mask;
  if (value < mask) return { value, pos };
  let shift = 0;
  for (;;) {
    if (pos >= block.length) throw new HpackError('truncated integer');
    const b = block[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (value > MAX_INT) throw new HpackError('integer too large');
    if (b < 0x80) return { value, pos };
    shift += 7;
  }
}

/** The static-table index of each name (its first entry), for the encoder. */
const STATIC_NAME = ((): ReadonlyMap<string, number> => {
  const m = new Map<string, number>();
  for (let i = STATIC_COUNT; i >= 1; i--) m.set(STATIC[2 * i - 2]!, i);
  return m;
})();

/** The static-table index of an exact name/value pair, or 0 (for the encoder: `:method POST`, `:scheme`…). */
export function staticIndex(name: string, value: string): number {
  for (let i = 1; i <= STATIC_COUNT; i++) if (STATIC[2 * i - 2] === name && STATIC[2 * i - 1] === value) return i;
  return 0;
}

/** Octets an N-bit-prefix integer takes. */
function intLength(value: number, bits: number): number {
  const mask = (1 << bits) - 1;
  if (value < mask) return 1;
  let n = 2;
  for (let v = value - mask; v >= 0x80; v = Math.floor(v / 128)) n++;
  return n;
}

/** Writes an N-bit-prefix integer with the high bits `pattern`; returns the next offset. */
function writeInt(buf: Buffer, pos: number, pattern: number, value: number, bits: number): number {
  const mask = (1 << bits) - 1;
  if (value < mask) {
    buf[pos++] = pattern | value;
    return pos;
  }
  buf[pos++] = pattern | mask;
  let v = value - mask;
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/**
 * Encodes `fields` (name, value, name, value…; names lowercase, values latin1/ASCII as gRPC metadata is) as
 * §6.2.2 literals without indexing, after the already-encoded `prefix`, into one buffer.
 */
export function encodeFields(fields: readonly string[], prefix?: Buffer): Buffer {
  const pre = prefix?.length ?? 0;
  let size = pre;
  const n = fields.length;
  for (let i = 0; i < n; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    const idx = STATIC_NAME.get(name);
    size += (idx === undefined ? 1 + intLength(name.length, 7) + name.length : intLength(idx, 4)) + intLength(value.length, 7) + value.length;
  }
  const buf = Buffer.allocUnsafe(size);
  if (prefix !== undefined) prefix.copy(buf, 0);
  let pos = pre;
  for (let i = 0; i < n; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    const idx = STATIC_NAME.get(name);
    if (idx === undefined) {
      buf[pos++] = 0;
      pos = writeInt(buf, pos, 0, name.length, 7);
      pos += buf.write(name, pos, 'latin1');
    } else pos = writeInt(buf, pos, 0, idx, 4);
    pos = writeInt(buf, pos, 0, value.length, 7);
    pos += buf.write(value, pos, 'latin1');
  }
  return buf;
}

/** RFC 9113 §6.5.2: a header list's size (names and values in octets, plus 32 per field) — what SETTINGS_MAX_HEADER_LIST_SIZE limits. */
export function headerListSize(fields: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < fields.length; i += 2) n += fields[i]!.length + fields[i + 1]!.length + ENTRY_OVERHEAD;
  return n;
}

/** §6.1: the one-octet (for indices below 127) representation of static entry `index`. */
export function encodeIndexed(index: number): Buffer {
  const buf = Buffer.allocUnsafe(intLength(index, 7));
  writeInt(buf, 0, 0x80, index, 7);
  return buf;
}
