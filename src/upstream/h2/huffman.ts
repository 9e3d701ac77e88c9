/**
 * HPACK's Huffman code (RFC 7541 §5.2, Appendix B), decode side only: attache never Huffman-encodes what it
 * sends (hpack.ts), but servers do (nghttp2, under node:http2 and grpc-go's hpack, encode a value whenever that
 * is shorter).
 *
 * Appendix B is a canonical Huffman code: within one bit length the codes are consecutive and ordered by
 * symbol, and each length's first code follows the last code of the shorter lengths. So the 257 code lengths
 * (256 octets + EOS) are enough to derive every code; they are stored below, one character per symbol
 * ('A' = 5 bits … '_' = 30 bits). huffman.test.ts checks that the lengths form a complete code (Kraft sum
 * exactly 1) and that decoding nghttp2's output gives back what was encoded.
 *
 * Decoding walks the code one bit at a time the canonical way (zlib's puff.c `decode()`): for each length,
 * the codes of that length are the interval [first, first + count). Header values are short (tens of
 * octets, and a server's HPACK dynamic table makes repeated ones one-octet references), so a table-driven
 * multi-bit decoder would buy little.
 */

const LENGTHS =
  'ISXXXXXXXTZXXZXXXXXXXXZXXXXXXXXXBFFHIBDGFFDGDBBBAAABBBBBBBCDKBHFIBCCCCCCCCCCCCCCCCCCCCCCDCDIOIJBKABABABBBACCBBBABCBAABCCCCCKGJIXPRPPRRRSRSSSSSTSTTRSTSSSSQRSRSSTRQPRRSSQSRRTQRSSQQRQSRSSPRRRSRRSVVPORSRUVVVWWVTUOQVWWVWTQQVVXWWWPTPQRQQSRRUUTTVSVWVVWWWWWXWWWWWVZ';
const MAX_BITS = 30;
/** The EOS symbol (RFC 7541 §5.2: decoding it is an error). */
const EOS = 256;

/** The code lengths, per symbol 0–256. */
export function codeLengths(): number[] {
  return Array.from(LENGTHS, (ch) => ch.charCodeAt(0) - 65 + 5);
}

/** The canonical-code tables: how many codes each length has, and the symbols sorted by (length, symbol). */
export interface HuffmanTable {
  readonly count: Int32Array;
  readonly symbols: Int32Array;
}

/** Derives the decoding tables from the code lengths. */
export function buildTable(lengths: readonly number[] = codeLengths()): HuffmanTable {
  const count = new Int32Array(MAX_BITS + 1);
  for (const l of lengths) count[l]!++;
  const offset = new Int32Array(MAX_BITS + 2);
  for (let l = 1; l <= MAX_BITS; l++) offset[l + 1] = offset[l]! + count[l]!;
  const symbols = new Int32Array(lengths.length);
  lengths.forEach((l, sym) => (symbols[offset[l]!++] = sym));
  return { count, symbols };
}

/** The code of every symbol (for tests and for checking the table): [code, length]. */
export function codes(lengths: readonly number[] = codeLengths()): Array<[number, number]> {
  const t = buildTable(lengths);
  const out: Array<[number, number]> = new Array(lengths.length);
  let code = 0;
  let index = 0;
  for (let l = 1; l <= MAX_BITS; l++) {
    for (let k = 0; k < t.count[l]!; k++) out[t.symbols[index + k]!] = [code + k, l];
    index += t.count[l]!;
    code = (code + t.count[l]!) * 2;
  }
  return out;
}

/** A Huffman-coded string literal is malformed (RFC 7541 §5.2): a decoding error (COMPRESSION_ERROR). */
export class HuffmanError extends Error {}

/**
 * Decodes `src[start, end)`; returns the octets as a latin1 string (as Node gives header values). Throws
 * {@link HuffmanError} for EOS in the data, padding longer than 7 bits, or padding that is not EOS's
 * most significant bits (all ones), as §5.2 requires.
 */
export function huffmanDecode(t: HuffmanTable, src: Uint8Array, start: number, end: number): string {
  const { count, symbols } = t;
  const out = Buffer.allocUnsafe(Math.ceil(((end - start) * 8) / 5));
  let n = 0;
  let code = 0;
  let first = 0;
  let index = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    for (let b = 7; b >= 0; b--) {
      code |= (byte >> b) & 1;
      len++;
      const c = count[len]!;
      if (code - c < first) {
        const sym = symbols[index + (code - first)]!;
        if (sym === EOS) throw new HuffmanError('Huffman-coded string contains EOS');
        out[n++] = sym;
        code = first = index = len = 0;
      } else {
        index += c;
        first = (first + c) << 1;
        code <<= 1;
        if (len === MAX_BITS) throw new HuffmanError('invalid Huffman code');
      }
    }
  }
  // Left over: the padding, a prefix of EOS (all ones), shorter than 8 bits. `code` was shifted once more.
  if (len > 7) throw new HuffmanError('Huffman padding longer than 7 bits');
  if (len > 0 && code >> 1 !== (1 << len) - 1) throw new HuffmanError('Huffman padding is not EOS');
  return out.toString('latin1', 0, n);
}
