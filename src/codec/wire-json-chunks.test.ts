/**
 * The chunked rendering of large messages (wire-json.ts `bytesToJsonChunks`, `Spill`): for every input its
 * Buffers must hold exactly the UTF-8 of `bytesToJson`'s text, each chunk whole UTF-8 on its own (a run is
 * cut between values, never inside a character), under several option sets; inputs below LARGE_INPUT get
 * the string itself; input the one-pass path hands to decode + write (malformed or merged) gives the same
 * text or the same CodecError.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/prng.js';
import { CodecError, createJsonCodec, type WriteOptions } from './index.js';
import { LARGE_INPUT, SPILL_CHARS } from './wire-json.js';

const PROTO = `
syntax = "proto3";
package chunks.v1;
message Outer {
  repeated Middle middles = 1;
  map<int32, string> by_id = 2;
  string note = 3;
  repeated sint64 numbers = 4;
  map<string, Inner> named = 5;
  repeated string words = 6;
  Middle single = 7;
  oneof pick { Middle chosen = 8; string other = 9; }
}
message Middle {
  string name = 1;
  repeated Inner inners = 2;
  repeated double values = 3;
  map<string, string> labels = 4;
}
message Inner {
  string text = 1;
  bytes blob = 2;
  int64 count = 3;
}
`;
const root = protobuf.parse(PROTO, { keepCase: true }).root;
root.resolveAll();
const codec = createJsonCodec(root);
const Outer = root.lookupType('chunks.v1.Outer');

const OPTIONS: WriteOptions[] = [
  { emitUnpopulated: false, useProtoNames: false, enumsAsNumbers: false, int64AsNumbers: false },
  { emitUnpopulated: true, useProtoNames: true, enumsAsNumbers: true, int64AsNumbers: true },
];

const next = seededRandom(17_2026);
const int = (n: number): number => Math.floor(next() * n);
/** Text that needs escapes and every UTF-8 length: 1-byte, 2-byte (é), 3-byte (東), 4-byte (😀, a surrogate pair). */
const PIECES = ['a', 'é', '東京', '😀', '"', '\\', '\n', '\u0001', ' ', 'x'.repeat(7), '\u2028'];
const text = (n: number): string => Array.from({ length: n }, () => PIECES[int(PIECES.length)]).join('');

function inner(): Record<string, unknown> {
  return { text: text(int(12)), blob: Buffer.from(text(int(6))).toString('base64'), count: String(int(1e9) - 5e8) };
}
function middle(inners: number): Record<string, unknown> {
  return {
    name: text(int(20)),
    inners: Array.from({ length: inners }, inner),
    values: Array.from({ length: int(4) }, () => (next() - 0.5) * 1e6),
    labels: Object.fromEntries(Array.from({ length: int(3) }, (_, i) => [`k${i}${text(2)}`, text(5)])),
  };
}

function encode(obj: Record<string, unknown>): Buffer {
  return Buffer.from(Outer.encode(Outer.fromObject(obj)).finish());
}

/** Asserts the chunks of `bytes` spell bytesToJson's text, chunk by chunk valid UTF-8; returns the chunk count. */
function sameText(bytes: Buffer, opts: WriteOptions): number {
  const whole = codec.bytesToJson(Outer, bytes, opts);
  const chunks = codec.bytesToJsonChunks(Outer, bytes, opts);
  if (bytes.length < LARGE_INPUT) {
    expect(chunks).toBe(whole);
    return 0;
  }
  expect(Array.isArray(chunks)).toBe(true);
  const list = chunks as Buffer[];
  expect(Buffer.concat(list).equals(Buffer.from(whole))).toBe(true);
  // Each chunk decodes alone to its share of the text: no chunk ends inside a UTF-8 sequence.
  expect(list.map((c) => c.toString('utf8')).join('')).toBe(whole);
  return list.length;
}

describe('bytesToJsonChunks', () => {
  it('a small message is the same string, not chunks', () => {
    const bytes = encode({ note: 'hi', middles: [middle(2)] });
    expect(bytes.length).toBeLessThan(LARGE_INPUT);
    for (const opts of OPTIONS) sameText(bytes, opts);
  });

  it.each([
    ['a long repeated message field', 2, () => ({ middles: Array.from({ length: 1500 }, () => middle(2)), note: 'end' })],
    ['long repeated fields inside the elements of a repeated field', 2, () => ({ middles: Array.from({ length: 6 }, () => middle(600)) })],
    ['a long repeated scalar field (packed sint64) and strings', 2, () => ({ numbers: Array.from({ length: 30_000 }, () => String(int(2e12) - 1e12)), words: Array.from({ length: 8000 }, () => text(3)) })],
    ['a large map with int keys (written in object key order)', 2, () => ({ by_id: Object.fromEntries(Array.from({ length: 9000 }, () => [int(1e6) - 5e5, text(4)])) })],
    ['a large map with message values', 2, () => ({ named: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`name ${i} ${text(3)}`, inner()])) })],
    ['a large singular message field and a oneof member', 2, () => ({ single: middle(3000), chosen: middle(2500), note: text(10) })],
    ['one long string (no spill point: one chunk)', 1, () => ({ note: text(200_000) })],
  ])('%s: the same text, in at least %i chunk(s)', (_name, least, build) => {
    const bytes = encode(build());
    expect(bytes.length).toBeGreaterThanOrEqual(LARGE_INPUT);
    let chunks = 0;
    for (const opts of OPTIONS) chunks = Math.max(chunks, sameText(bytes, opts));
    expect(chunks).toBeGreaterThanOrEqual(least);
  });

  it('spills while reading: no chunk of a long repeated field is much longer than SPILL_CHARS', () => {
    const bytes = encode({ middles: Array.from({ length: 3000 }, () => middle(1)) });
    const chunks = codec.bytesToJsonChunks(Outer, bytes, OPTIONS[0]!) as Buffer[];
    expect(chunks.length).toBeGreaterThan(10);
    // A run is at most SPILL_CHARS characters plus one element: 4 UTF-8 bytes per character at the very most.
    for (const c of chunks) expect(c.length).toBeLessThan(4 * SPILL_CHARS + 4096);
  });

  it('a oneof member cleared after its text spilled leaves nothing behind', () => {
    // `chosen` (large, spills) then `other` on the wire: the oneof's last member wins.
    const a = encode({ chosen: middle(4000) });
    const b = encode({ other: 'last' });
    const bytes = Buffer.concat([a, b]);
    for (const opts of OPTIONS) sameText(bytes, opts);
    expect(Buffer.concat(codec.bytesToJsonChunks(Outer, bytes, OPTIONS[0]!) as Buffer[]).toString()).toBe('{"other":"last"}');
  });

  it('input merged by protobuf (a singular message twice) goes through decode + write: the same text', () => {
    const bytes = Buffer.concat([encode({ single: middle(2000) }), encode({ single: middle(2000) })]);
    for (const opts of OPTIONS) sameText(bytes, opts);
  });

  it('malformed large input: the same CodecError as bytesToJson', () => {
    const good = encode({ middles: Array.from({ length: 1500 }, () => middle(2)) });
    const cut = good.subarray(0, good.length - 7);
    expect(() => codec.bytesToJson(Outer, cut, OPTIONS[0]!)).toThrow(CodecError);
    let message = '';
    try {
      codec.bytesToJson(Outer, cut, OPTIONS[0]!);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(() => codec.bytesToJsonChunks(Outer, cut, OPTIONS[0]!)).toThrow(message);
  });
});
