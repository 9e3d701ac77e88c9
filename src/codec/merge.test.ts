/**
 * protobuf's merge rules on binary input (merge.ts), seen through the codec: decode then write JSON, as a
 * response is. Expected texts are written from the rules (protobuf.dev encoding "Last One Wins", proto3
 * "Oneof features"), not from any decoder.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../registry/load.js';
import { createJsonCodec, DEFAULT_WRITE_OPTIONS } from './index.js';
import { createMergeNormalizer } from './merge.js';

const { root } = loadRegistry(['test/fixtures/codec']);
const codec = createJsonCodec(root);
const Everything = root.lookupType('codectest.v1.Everything');
const Nested = root.lookupType('codectest.v1.Nested');
const Scalars = root.lookupType('codectest.v1.Scalars');

const tag = (id: number, wire: number): number => (id << 3) | wire;
const wire = (build: (w: protobuf.Writer) => protobuf.Writer): Buffer => Buffer.from(build(protobuf.Writer.create()).finish());
const nested = (build: (w: protobuf.Writer) => protobuf.Writer) => (w: protobuf.Writer): protobuf.Writer => build(w.fork()).ldelim();
const json = (type: protobuf.Type, bytes: Uint8Array): unknown => JSON.parse(codec.bytesToJson(type, bytes, DEFAULT_WRITE_OPTIONS));

describe('protobuf merge rules on binary input', () => {
  it.each<[string, Buffer, unknown]>([
    [
      'a singular message field twice: its fields merge',
      wire((w) => nested((n) => n.uint32(tag(1, 2)).string('first'))(w.uint32(tag(17, 2))).uint32(tag(17, 2)).fork().uint32(tag(2, 0)).int64(2).ldelim()),
      { fNested: { name: 'first', count: '2' } },
    ],
    [
      'the later occurrence wins for the scalars both set',
      wire((w) => w.uint32(tag(17, 2)).fork().uint32(tag(1, 2)).string('a').uint32(tag(2, 0)).int64(1).ldelim().uint32(tag(17, 2)).fork().uint32(tag(1, 2)).string('b').ldelim()),
      { fNested: { name: 'b', count: '1' } },
    ],
    [
      'merging is recursive (child of child)',
      wire((w) =>
        w.uint32(tag(17, 2)).fork().uint32(tag(3, 2)).fork().uint32(tag(1, 2)).string('x').ldelim().ldelim()
          .uint32(tag(17, 2)).fork().uint32(tag(3, 2)).fork().uint32(tag(2, 0)).int64(7).ldelim().ldelim()),
      { fNested: { child: { name: 'x', count: '7' } } },
    ],
    [
      'with other fields in between, repeated fields still concatenate in order',
      wire((w) =>
        w.uint32(tag(17, 2)).fork().uint32(tag(1, 2)).string('n').ldelim()
          .uint32(tag(25, 2)).fork().uint32(tag(1, 2)).string('r1').ldelim()
          .uint32(tag(14, 2)).string('s')
          .uint32(tag(17, 2)).fork().uint32(tag(2, 0)).int64(3).ldelim()
          .uint32(tag(25, 2)).fork().uint32(tag(1, 2)).string('r2').ldelim()),
      { fString: 's', fNested: { name: 'n', count: '3' }, rNested: [{ name: 'r1' }, { name: 'r2' }] },
    ],
    [
      'elements of a repeated message field are not merged with each other, but each is normalized',
      wire((w) => w.uint32(tag(25, 2)).fork().uint32(tag(3, 2)).fork().uint32(tag(1, 2)).string('a').ldelim().uint32(tag(3, 2)).fork().uint32(tag(2, 0)).int64(1).ldelim().ldelim()),
      { rNested: [{ child: { name: 'a', count: '1' } }] },
    ],
    [
      'a oneof: the last member on the wire wins (string, then int64)',
      wire((w) => w.uint32(tag(40, 2)).string('s').uint32(tag(41, 0)).int64(5)),
      { oInt64: '5' },
    ],
    [
      'a oneof: int64, then string',
      wire((w) => w.uint32(tag(41, 0)).int64(5).uint32(tag(40, 2)).string('s')),
      { oString: 's' },
    ],
    [
      'a oneof message member, another member, the message again: only the last message is kept',
      wire((w) =>
        w.uint32(tag(42, 2)).fork().uint32(tag(1, 2)).string('old').ldelim()
          .uint32(tag(43, 0)).int32(2)
          .uint32(tag(42, 2)).fork().uint32(tag(2, 0)).int64(9).ldelim()),
      { oNested: { count: '9' } },
    ],
    [
      'a oneof message member twice in a row: merged',
      wire((w) => w.uint32(tag(42, 2)).fork().uint32(tag(1, 2)).string('a').ldelim().uint32(tag(42, 2)).fork().uint32(tag(2, 0)).int64(9).ldelim()),
      { oNested: { name: 'a', count: '9' } },
    ],
    [
      'a map entry whose message value occurs twice: the value merges; a repeated key: the later entry wins whole',
      wire((w) =>
        w.uint32(tag(35, 2)).fork().uint32(tag(1, 2)).string('k')
          .uint32(tag(2, 2)).fork().uint32(tag(1, 2)).string('v').ldelim()
          .uint32(tag(2, 2)).fork().uint32(tag(2, 0)).int64(4).ldelim().ldelim()
          .uint32(tag(35, 2)).fork().uint32(tag(1, 2)).string('j').uint32(tag(2, 2)).fork().uint32(tag(1, 2)).string('x').ldelim().ldelim()
          .uint32(tag(35, 2)).fork().uint32(tag(1, 2)).string('j').uint32(tag(2, 2)).fork().uint32(tag(2, 0)).int64(1).ldelim().ldelim()),
      { mNested: { k: { name: 'v', count: '4' }, j: { count: '1' } } },
    ],
    [
      'well-known types merge field by field (Timestamp seconds, then nanos)',
      wire((w) => w.uint32(tag(70, 2)).fork().uint32(tag(1, 0)).int64(60).ldelim().uint32(tag(70, 2)).fork().uint32(tag(2, 0)).int32(500000000).ldelim()),
      { wTimestamp: '1970-01-01T00:01:00.500Z' },
    ],
    [
      'unknown fields are kept where they were (and ignored by the writer)',
      wire((w) => w.uint32(tag(999, 2)).string('u').uint32(tag(17, 2)).fork().uint32(tag(1, 2)).string('a').ldelim().uint32(tag(998, 0)).int32(1).uint32(tag(17, 2)).fork().ldelim()),
      { fNested: { name: 'a' } },
    ],
  ])('%s', (_name, bytes, expected) => {
    expect(json(Everything, bytes)).toEqual(expected);
    // The decoded message agrees with the JSON (decode is what other callers use).
    expect(JSON.parse(codec.messageToJson(Everything, codec.decode(Everything, bytes), DEFAULT_WRITE_OPTIONS))).toEqual(expected);
  });
});

describe('the normalizer leaves input alone when it has nothing to do', () => {
  const n = createMergeNormalizer();

  it.each<[string, protobuf.Type, Buffer]>([
    ['a type with no message fields and no oneofs', Scalars, wire((w) => w.uint32(tag(14, 2)).string('a').uint32(tag(14, 2)).string('b'))],
    ['no field twice', Everything, wire((w) => w.uint32(tag(17, 2)).fork().uint32(tag(1, 2)).string('a').ldelim().uint32(tag(40, 2)).string('s'))],
    ['truncated after a repeated message field', Everything, Buffer.concat([wire((w) => w.uint32(tag(17, 2)).fork().ldelim().uint32(tag(17, 2)).fork().ldelim()), Buffer.from([0x18])])],
    ['a length past the end', Everything, Buffer.from([0x8a, 0x01, 0x00, 0x8a, 0x01, 0x05, 0x0a])],
    ['wire type 6', Everything, Buffer.from([0x8a, 0x01, 0x00, 0x8a, 0x01, 0x00, 0x1e])],
    ['a group end without a start', Everything, Buffer.from([0x8a, 0x01, 0x00, 0x8a, 0x01, 0x00, 0xfc, 0x3e])],
    ['a field number 0', Everything, Buffer.from([0x8a, 0x01, 0x00, 0x8a, 0x01, 0x00, 0x00, 0x01])],
  ])('%s: the same buffer back', (_name, type, bytes) => {
    expect(n.normalize(type, bytes)).toBe(bytes);
  });

  it('malformed input still fails with the decoder\'s own error', () => {
    const bytes = Buffer.from([0x8a, 0x01, 0x00, 0x8a, 0x01, 0x05, 0x0a]);
    expect(() => codec.decode(Everything, bytes)).toThrow(/malformed protobuf for codectest\.v1\.Everything: index out of range/);
  });

  it('groups (unknown to a proto3 type) are carried through whole', () => {
    const bytes = wire((w) =>
      w.uint32(tag(17, 2)).fork().uint32(tag(1, 2)).string('a').ldelim()
        .uint32(tag(500, 3)).uint32(tag(1, 0)).int32(1).uint32(tag(500, 4))
        .uint32(tag(17, 2)).fork().uint32(tag(2, 0)).int64(2).ldelim());
    const out = n.normalize(Everything, bytes);
    expect(out).not.toBe(bytes);
    expect(Buffer.from(out).includes(Buffer.from([0xa3, 0x1f, 0x08, 0x01, 0xa4, 0x1f]))).toBe(true);
    expect(json(Everything, bytes)).toEqual({ fNested: { name: 'a', count: '2' } });
  });

  it('50 levels of duplicated children merge; 150 levels are left to the decoder\'s depth error', () => {
    const deep = (levels: number): Uint8Array => {
      // Each level: child {the level below} then child {count}, so every level needs a merge.
      let inner: Uint8Array = Buffer.alloc(0);
      for (let i = 0; i < levels; i++) {
        inner = wire((w) => w.uint32(tag(3, 2)).bytes(inner).uint32(tag(3, 2)).fork().uint32(tag(2, 0)).int64(i).ldelim());
      }
      return inner;
    };
    const ok = json(Nested, deep(50)) as { child: unknown };
    let node: { child?: unknown; count?: string } = ok as { child?: unknown };
    let levels = 0;
    while (node.child !== undefined) {
      node = node.child as typeof node;
      levels++;
    }
    expect(levels).toBe(50);
    expect(() => codec.decode(Nested, deep(150))).toThrow(/maximum nesting depth|malformed protobuf/);
  });
});
