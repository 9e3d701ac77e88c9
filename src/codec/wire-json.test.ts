/**
 * One-pass binary → JSON (wire-json.ts) against the two-pass path it replaces: for every input,
 * `bytesToJson(type, bytes, opts)` must equal `messageToJson(type, decode(type, bytes), opts)` byte for byte,
 * or both must fail with the same CodecError. Inputs: protobufjs encodings of the codec fixtures under all 16
 * WriteOptions combinations, hand-made wire bytes protobufjs never writes, and seeded random messages and
 * byte mutations.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../registry/load.js';
import { createBinaryCodec, type BinaryCodec } from './binary.js';
import { createTypeUrlResolver } from './descriptors.js';
import { CodecError, createJsonCodec, DEFAULT_READ_OPTIONS, parseJson, type JsonCodec, type WriteOptions } from './index.js';
import { createWireJson, int64Text, uint64Text } from './wire-json.js';
import { createWriter } from './write.js';
import { seededRandom } from '../../test/support/prng.js';

const { root } = loadRegistry(['test/fixtures/codec']);
const codec = createJsonCodec(root);
const Everything = root.lookupType('codectest.v1.Everything');
const Deep = root.lookupType('codectest.v1.Deep');
const Hostile = root.lookupType('codectest.v1.Hostile');
const Nested = root.lookupType('codectest.v1.Nested');
const Scalars = root.lookupType('codectest.v1.Scalars');
const T = 'type.googleapis.com/';

/** All 16 combinations of the four write options. */
const ALL_OPTIONS: WriteOptions[] = Array.from({ length: 16 }, (_, i) => ({
  emitUnpopulated: (i & 1) !== 0,
  useProtoNames: (i & 2) !== 0,
  enumsAsNumbers: (i & 4) !== 0,
  int64AsNumbers: (i & 8) !== 0,
}));

type Outcome = { json: string } | { error: string; field: string };

function outcome(f: () => string): Outcome {
  try {
    return { json: f() };
  } catch (err) {
    if (err instanceof CodecError) return { error: err.message, field: err.field };
    throw err;
  }
}

/** Asserts one-pass = two-pass for `bytes` under every option set; returns the default-options outcome. */
function same(type: protobuf.Type, bytes: Uint8Array, c: JsonCodec = codec): Outcome {
  for (const opts of ALL_OPTIONS) {
    const twoPass = outcome(() => c.messageToJson(type, c.decode(type, bytes), opts));
    expect(outcome(() => c.bytesToJson(type, bytes, opts)), JSON.stringify(opts)).toEqual(twoPass);
  }
  return outcome(() => c.bytesToJson(type, bytes, ALL_OPTIONS[0]!));
}

/**
 * A one-pass renderer over the fixture Root whose fallback (two-pass) path is counted, to check that
 * well-formed input is really written in one pass.
 */
function countingWire(): { bytesToJson: (type: protobuf.Type, bytes: Uint8Array, opts: WriteOptions) => string; fallbacks: () => number } {
  const binary = createBinaryCodec();
  const writer = createWriter(createTypeUrlResolver(root), binary);
  let n = 0;
  const counted: BinaryCodec = {
    decode: (type, bytes) => {
      n++;
      return binary.decode(type, bytes);
    },
    encode: binary.encode,
  };
  const wire = createWireJson(writer, counted);
  return { bytesToJson: wire.bytesToJson, fallbacks: () => n };
}

function encodeJson(type: protobuf.Type, json: string): Uint8Array {
  return codec.encode(type, codec.messageFromJson(type, parseJson(json, 64), DEFAULT_READ_OPTIONS));
}

/** Hand-made wire bytes. */
function wire(build: (w: protobuf.Writer) => protobuf.Writer): Buffer {
  return Buffer.from(build(protobuf.Writer.create()).finish());
}
const tag = (field: number, wireType: number): number => ((field << 3) | wireType) >>> 0;

const FIXTURES: Array<[string, protobuf.Type, string]> = [
  ['empty', Everything, '{}'],
  ['int64 extremes', Everything, '{"fInt64":"-9223372036854775808","fUint64":"18446744073709551615","fSint64":"9223372036854775807","fFixed64":"18446744073709551615","fSfixed64":"-9223372036854775808"}'],
  ['int64 around 2^53', Everything, '{"fInt64":"9007199254740993","fUint64":"9007199254740992","fSint64":"-9007199254740993","rInt64":["9007199254740991","-9007199254740992","4294967296","-4294967297"]}'],
  ['int32 extremes', Everything, '{"fInt32":-2147483648,"fSint32":2147483647,"fUint32":4294967295,"fFixed32":4294967295,"fSfixed32":-2147483648}'],
  ['negative int32 (10-byte varint)', Everything, '{"fInt32":-1,"rInt32":[-1,-2147483648,0,5]}'],
  ['floats', Everything, '{"fDouble":"NaN","fFloat":"-Infinity","rDouble":["Infinity",-0,1e-7,1e21,0.1,5e-324]}'],
  ['-0 and float shortest form', Everything, '{"fDouble":-0,"fFloat":0.1}'],
  ['bool, string, bytes', Everything, '{"fBool":true,"fString":"é\\"\\\\\\n\\u0001😀 \\u2028","fBytes":"-_8","rBytes":["","AQ=="],"rBool":[false,true]}'],
  ['enums known and unknown', Everything, '{"fEnum":42,"rEnum":["COLOR_BLUE",7,0],"mEnum":{"a":"COLOR_GREEN","b":99}}'],
  ['nested', Everything, '{"fNested":{"name":"a","count":"-1","child":{"count":"5","child":{}}},"rNested":[{},{"name":"x"}]}'],
  ['maps of every key type', Everything, '{"mString":{"b":"1","a":"2","10":"n","2":"m","":"e"},"mInt32":{"1":"a","-2":"b","0":"z"},"mInt64":{"-5":"x","9223372036854775807":"y","0":"z","4294967296":"w"},"mUint64":{"18446744073709551615":"-1","1":"0"},"mBool":{"false":"f","true":"t"},"mSint32":{"-7":"AQID","3":""},"mNested":{"k":{"count":"2"},"e":{}}}'],
  ['map of Value', Everything, '{"mValue":{"v":[1,{"a":null}],"s":"x","n":null}}'],
  ['oneof string default', Everything, '{"oString":""}'],
  ['oneof int64', Everything, '{"oInt64":"0"}'],
  ['oneof message', Everything, '{"oNested":{}}'],
  ['oneof enum', Everything, '{"oEnum":"COLOR_UNSPECIFIED"}'],
  ['oneof NullValue', Everything, '{"oNull":null}'],
  ['proto3 optional zeros', Everything, '{"pInt32":0,"pString":"","pEnum":"COLOR_UNSPECIFIED"}'],
  ['json_name', Everything, '{"customName":"x"}'],
  ['Timestamp and Duration', Everything, '{"wTimestamp":"2024-02-29T23:59:59.123456789Z","wDuration":"-315576000000.000000001s","rTimestamp":["0001-01-01T00:00:00Z","9999-12-31T23:59:59.999999999Z","1970-01-01T00:00:00.010Z"]}'],
  ['zero Timestamp and Duration', Everything, '{"wTimestamp":"1970-01-01T00:00:00Z","wDuration":"0s"}'],
  ['FieldMask', Everything, '{"wFieldMask":"a.bC,d"}'],
  ['empty FieldMask', Everything, '{"wFieldMask":""}'],
  ['Struct family', Everything, '{"wStruct":{"s":"x","n":1.5,"b":false,"z":null,"l":[1,"two",[3]],"o":{"deep":{}}},"wValue":"v","wListValue":[null,true],"rValue":[null,"x",{"a":[]}]}'],
  ['NullValue field', Everything, '{"wNullValue":null}'],
  ['Empty', Everything, '{"wEmpty":{}}'],
  ['wrappers with values', Everything, '{"wDouble":1.5,"wFloat":3.5,"wInt64":"-7","wUint64":"18446744073709551615","wInt32":-1,"wUint32":7,"wBool":true,"wString":"s","wBytes":"AQ==","rInt64Value":["-1","0"]}'],
  ['wrappers with defaults', Everything, '{"wDouble":0,"wFloat":0,"wInt64":"0","wUint64":"0","wInt32":0,"wUint32":0,"wBool":false,"wString":"","wBytes":""}'],
  ['Any with a message', Everything, `{"wAny":{"@type":"${T}codectest.v1.Nested","name":"any","child":{"count":"9"}}}`],
  ['Any with WKTs', Everything, `{"rAny":[{"@type":"${T}google.protobuf.Value","value":{"k":[1]}},{},{"@type":"${T}google.protobuf.Duration","value":"1s"},{"@type":"${T}google.protobuf.Any","value":{"@type":"${T}google.protobuf.Int64Value","value":"5"}}]}`],
  ['Deep', Deep, '{"child":{"child":{"child":{"value":3}},"value":-1}}'],
  ['Hostile names', Hostile, '{"name":"n","constructor":"c","toString":5,"labels":{"__proto__":"p","constructor":"x","toString":"t"}}'],
  ['Scalars', Scalars, '{"fDouble":1,"fFloat":2,"fInt32":3,"fInt64":"4","fUint32":5,"fUint64":"6","fSint32":-7,"fSint64":"-8","fFixed32":9,"fFixed64":"10","fSfixed32":-11,"fSfixed64":"-12","fBool":true,"fString":"s","fBytes":"AQ==","fEnum":"COLOR_RED"}'],
];

describe('bytesToJson = messageToJson(decode(…)) for protobufjs encodings, under all 16 option sets', () => {
  it.each(FIXTURES)('%s', (_name, type, json) => {
    const result = same(type, encodeJson(type, json));
    expect(result).toHaveProperty('json');
  });

  it('writes all of them in one pass (no fallback to decode + write)', () => {
    const w = countingWire();
    for (const [, type, json] of FIXTURES) {
      const bytes = encodeJson(type, json);
      for (const opts of ALL_OPTIONS) expect(w.bytesToJson(type, bytes, opts)).toBe(codec.messageToJson(type, codec.decode(type, bytes), opts));
    }
    expect(w.fallbacks()).toBe(0);
  });

  it('a rich message, and a deep recursive one (100 levels: protobufjs\'s limit)', () => {
    const rich = FIXTURES.filter(([, t]) => t === Everything).map(([, , j]) => j.slice(1, -1)).filter((s) => s !== '');
    // Later keys would repeat oneof members and fields: merge by parsing into one object.
    const merged = Object.assign({}, ...rich.map((s) => JSON.parse(`{${s}}`) as object)) as Record<string, unknown>;
    delete merged['oString'];
    delete merged['oInt64'];
    delete merged['oEnum'];
    delete merged['oNull'];
    same(Everything, encodeJson(Everything, JSON.stringify(merged)));
    // Built inside out by hand: protobufjs's encoder refuses to nest this deep.
    const deep = (levels: number): Uint8Array => {
      let bytes = wire((w) => w.uint32(tag(2, 0)).int32(1));
      for (let i = 1; i < levels; i++) {
        const inner = bytes;
        bytes = wire((w) => w.uint32(tag(1, 2)).bytes(inner).uint32(tag(2, 0)).int32(i));
      }
      return bytes;
    };
    expect(same(Deep, deep(101))).toHaveProperty('json');
    expect(same(Deep, deep(102))).toEqual({ error: expect.stringMatching(/^malformed protobuf for codectest\.v1\.Deep: maximum nesting depth exceeded/), field: '' });
  });
});

describe('hand-made wire bytes (what protobufjs never writes)', () => {
  it.each<[string, protobuf.Type, Buffer]>([
    ['unpacked repeated int32', Everything, wire((w) => w.uint32(tag(20, 0)).int32(1).uint32(tag(20, 0)).int32(-2).uint32(tag(20, 0)).int32(3))],
    ['packed and unpacked mixed', Everything, wire((w) => w.uint32(tag(20, 0)).int32(1).uint32(tag(20, 2)).fork().int32(2).int32(3).ldelim().uint32(tag(20, 0)).int32(4))],
    ['unpacked repeated double and enum', Everything, wire((w) => w.uint32(tag(26, 1)).double(1.5).uint32(tag(24, 0)).int32(2).uint32(tag(26, 1)).double(-0))],
    ['empty packed run', Everything, wire((w) => w.uint32(tag(21, 2)).fork().ldelim())],
    ['scalar field repeated: last one wins', Everything, wire((w) => w.uint32(tag(3, 0)).int32(5).uint32(tag(14, 2)).string('a').uint32(tag(3, 0)).int32(7).uint32(tag(14, 2)).string('b'))],
    ['implicit field set, then reset to its default', Everything, wire((w) => w.uint32(tag(3, 0)).int32(5).uint32(tag(3, 0)).int32(0).uint32(tag(4, 0)).int64(9).uint32(tag(4, 0)).int64(0))],
    ['message field repeated: the occurrences merge', Everything, wire((w) => w.uint32(tag(17, 2)).fork().uint32(tag(1, 2)).string('first').ldelim().uint32(tag(17, 2)).fork().uint32(tag(2, 0)).int64(2).ldelim())],
    ['two members of one oneof: the last one wins', Everything, wire((w) => w.uint32(tag(40, 2)).string('s').uint32(tag(41, 0)).int64(5))],
    ['map key repeated: the later value', Everything, wire((w) => w.uint32(tag(30, 2)).fork().uint32(tag(1, 2)).string('k').uint32(tag(2, 2)).string('1').ldelim().uint32(tag(30, 2)).fork().uint32(tag(1, 2)).string('j').ldelim().uint32(tag(30, 2)).fork().uint32(tag(1, 2)).string('k').uint32(tag(2, 2)).string('2').ldelim())],
    ['map entry with value before key, and no value', Everything, wire((w) => w.uint32(tag(31, 2)).fork().uint32(tag(2, 2)).string('v').uint32(tag(1, 0)).int32(-3).ldelim().uint32(tag(35, 2)).fork().uint32(tag(1, 2)).string('m').ldelim().uint32(tag(36, 2)).fork().ldelim())],
    ['map entry without a key (non-64-bit keys)', Everything, wire((w) => w.uint32(tag(30, 2)).fork().ldelim().uint32(tag(34, 2)).fork().uint32(tag(2, 2)).string('f').ldelim().uint32(tag(37, 2)).fork().ldelim())],
    ['64-bit-keyed map entries without a key', Everything, wire((w) => w.uint32(tag(32, 2)).fork().uint32(tag(2, 2)).string('x').ldelim().uint32(tag(33, 2)).fork().uint32(tag(2, 0)).int64(7).ldelim())],
    ['map key order: digits first, repeats keep their first place, __proto__', Everything, wire((w) => {
      for (const [k, v] of [['b', '1'], ['10', '2'], ['a', '3'], ['2', '4'], ['b', '5'], ['__proto__', '6'], ['-1', '7']]) w.uint32(tag(30, 2)).fork().uint32(tag(1, 2)).string(k!).uint32(tag(2, 2)).string(v!).ldelim();
      return w;
    })],
    ['large map with repeated keys (past the pairwise check)', Everything, wire((w) => {
      for (let i = 0; i < 40; i++) w.uint32(tag(30, 2)).fork().uint32(tag(1, 2)).string(`k${i % 23}`).uint32(tag(2, 2)).string(String(i)).ldelim();
      return w;
    })],
    ['map entry with unknown fields', Everything, wire((w) => w.uint32(tag(30, 2)).fork().uint32(tag(9, 0)).int32(1).uint32(tag(1, 2)).string('k').uint32(tag(9, 2)).string('zz').uint32(tag(2, 2)).string('v').ldelim())],
    ['unknown fields of every wire type', Everything, wire((w) => w.uint32(tag(1000, 0)).int64(-1).uint32(tag(1001, 1)).fixed64(1).uint32(tag(1002, 2)).string('junk').uint32(tag(1003, 5)).fixed32(3).uint32(tag(1004, 3)).uint32(tag(1, 0)).int32(1).uint32(tag(2, 3)).uint32(tag(2, 4)).uint32(tag(1004, 4)).uint32(tag(3, 0)).int32(9))],
    ['unknown fields inside nested messages and Timestamp', Everything, wire((w) => w.uint32(tag(17, 2)).fork().uint32(tag(99, 2)).string('u').uint32(tag(1, 2)).string('n').ldelim().uint32(tag(70, 2)).fork().uint32(tag(5, 0)).int32(1).uint32(tag(1, 0)).int64(60).ldelim())],
    ['field number 0', Everything, wire((w) => w.uint32(tag(0, 0)).int32(1).uint32(tag(3, 0)).int32(2))],
    ['negative int32 as a 10-byte varint, and as a 5-byte one', Everything, Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x18, 0xfe, 0xff, 0xff, 0xff, 0x0f])],
    ['over-long varints for int64 and bool', Everything, Buffer.from([0x20, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x68, 0x80, 0x80, 0x00])],
    ['sint zigzag extremes', Everything, wire((w) => w.uint32(tag(7, 0)).sint32(-2147483648).uint32(tag(8, 0)).sint64('-9223372036854775808'))],
    ['Timestamp fields repeated', Everything, wire((w) => w.uint32(tag(70, 2)).fork().uint32(tag(1, 0)).int64(1).uint32(tag(2, 0)).int32(5).uint32(tag(1, 0)).int64(2).ldelim())],
    ['wrapper value repeated and empty wrappers', Everything, wire((w) => w.uint32(tag(84, 2)).fork().uint32(tag(1, 0)).int32(1).uint32(tag(1, 0)).int32(2).ldelim().uint32(tag(87, 2)).fork().ldelim())],
    ['truncated varint', Everything, Buffer.from([0x18, 0xff])],
    ['truncated varint at the end of a long buffer', Everything, Buffer.from([0x0a, 0x00, 0x0a, 0x00, 0x0a, 0x00, 0x18, 0xff, 0xff])],
    ['truncated int64 varint near the end (protobufjs reads a 4th byte unchecked)', Everything, Buffer.from([0x20, 0xff, 0xff, 0xff])],
    ['length past the end (bytes)', Everything, Buffer.from([0x7a, 0x05, 0x01])],
    ['length past the end (string: protobufjs cuts it)', Everything, Buffer.from([0x72, 0x05, 0x61, 0x62])],
    ['string running past its nested message', Everything, Buffer.from([0x8a, 0x01, 0x03, 0x0a, 0x05, 0x61, 0x62, 0x63])],
    ['length past the end (message)', Everything, Buffer.from([0x8a, 0x01, 0x05, 0x0a, 0x01])],
    ['packed run past the end', Everything, Buffer.from([0xa2, 0x01, 0x05, 0x01, 0x02])],
    ['packed run ending mid-value', Everything, Buffer.from([0xa2, 0x01, 0x01, 0xff, 0x01])],
    ['fixed64 past the end', Everything, Buffer.from([0x51, 0x01, 0x02])],
    ['group start without end', Everything, Buffer.from([0xfb, 0x3e])],
    ['stray group end', Everything, Buffer.from([0xfc, 0x3e])],
    ['wire type 6', Everything, Buffer.from([0x1e])],
    ['wrong wire type for a known field', Everything, wire((w) => w.uint32(tag(14, 0)).int32(3))],
    ['wrong wire type for a message field', Everything, wire((w) => w.uint32(tag(17, 0)).int32(3))],
    ['invalid UTF-8 in a string', Everything, Buffer.from([0x72, 0x03, 0x61, 0xff, 0xc0])],
    ['Timestamp out of range (write error)', Everything, wire((w) => w.uint32(tag(70, 2)).fork().uint32(tag(1, 0)).int64('253402300800').ldelim())],
    ['Duration signs disagree (write error in a repeated message)', Everything, wire((w) => w.uint32(tag(71, 2)).fork().uint32(tag(1, 0)).int64(1).uint32(tag(2, 0)).int32(-1).ldelim())],
    ['FieldMask path with no JSON form', Everything, wire((w) => w.uint32(tag(72, 2)).fork().uint32(tag(1, 2)).string('fooBar').ldelim())],
    ['Value with a non-finite number', Everything, wire((w) => w.uint32(tag(74, 2)).fork().uint32(tag(2, 1)).double(NaN).ldelim())],
    ['write error in an earlier occurrence that a later one replaces', Everything, wire((w) => w.uint32(tag(70, 2)).fork().uint32(tag(2, 0)).int32(-1).ldelim().uint32(tag(70, 2)).fork().ldelim())],
    ['Any of an unknown type and undecodable payload', Everything, wire((w) => w.uint32(tag(77, 2)).fork().uint32(tag(1, 2)).string(`${T}unknown.v1.X`).uint32(tag(2, 2)).bytes(Buffer.from([1, 2])).ldelim().uint32(tag(91, 2)).fork().uint32(tag(1, 2)).string(`${T}codectest.v1.Nested`).uint32(tag(2, 2)).bytes(Buffer.from([0x0a, 0xff])).ldelim())],
    ['Any with only a type URL, and with only a value', Everything, wire((w) => w.uint32(tag(91, 2)).fork().uint32(tag(1, 2)).string(`${T}codectest.v1.Nested`).ldelim().uint32(tag(91, 2)).fork().uint32(tag(2, 2)).bytes(Buffer.from([0x0a, 0x01, 0x61])).ldelim())],
  ])('%s', (_name, type, bytes) => {
    same(type, bytes);
  });

  it('writes the well-formed ones in one pass', () => {
    const w = countingWire();
    const wellFormed = [
      wire((w) => w.uint32(tag(20, 0)).int32(1).uint32(tag(20, 2)).fork().int32(2).int32(3).ldelim().uint32(tag(20, 0)).int32(4)),
      wire((w) => w.uint32(tag(40, 2)).string('s').uint32(tag(41, 0)).int64(5)),
      wire((w) => w.uint32(tag(31, 2)).fork().uint32(tag(2, 2)).string('v').uint32(tag(1, 0)).int32(-3).ldelim().uint32(tag(35, 2)).fork().uint32(tag(1, 2)).string('m').ldelim()),
      wire((w) => w.uint32(tag(1000, 0)).int64(-1).uint32(tag(1002, 2)).string('junk').uint32(tag(1004, 3)).uint32(tag(1, 0)).int32(1).uint32(tag(1004, 4)).uint32(tag(3, 0)).int32(9)),
      Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      wire((w) => w.uint32(tag(32, 2)).fork().uint32(tag(2, 2)).string('x').ldelim()),
    ];
    for (const bytes of wellFormed) {
      for (const opts of ALL_OPTIONS) expect(w.bytesToJson(Everything, bytes, opts)).toBe(codec.messageToJson(Everything, codec.decode(Everything, bytes), opts));
    }
    expect(w.fallbacks()).toBe(0);
  });

  it('a 64-bit-keyed map entry without a key has the key "0" (proto3: a missing key is the default)', () => {
    const bytes = wire((w) => w.uint32(tag(32, 2)).fork().uint32(tag(2, 2)).string('x').ldelim().uint32(tag(33, 2)).fork().uint32(tag(2, 0)).int64(7).ldelim());
    const text = codec.messageToJson(Everything, codec.decode(Everything, bytes), ALL_OPTIONS[0]!);
    expect(JSON.parse(text)).toMatchObject({ mInt64: { '0': 'x' }, mUint64: { '0': '7' } });
  });

  it('strings of every length up to 40, plain or with a character to escape or non-ASCII at each place', () => {
    // Cursor.stringJson takes three paths by length (char by char, one latin1Slice, utf8Slice + escape test).
    const specials = ['"', '\\', '\n', '\u0001', '\u007f', 'é', '€', '😀', '\u2028'];
    for (let n = 0; n <= 40; n++) {
      const plain = Array.from({ length: n }, (_, i) => String.fromCharCode(0x20 + ((i * 7) % 95))).join('').replace(/["\\]/g, 'x');
      const texts = [plain];
      for (const c of specials) for (const at of new Set([0, n >> 1, Math.max(0, n - 1)])) texts.push(plain.slice(0, at) + c + plain.slice(at + 1));
      for (const t of texts) {
        const bytes = wire((w) => w.uint32(tag(14, 2)).string(t).uint32(tag(22, 2)).string(t).uint32(tag(30, 2)).fork().uint32(tag(1, 2)).string(t).uint32(tag(2, 2)).string(t).ldelim());
        expect(same(Everything, bytes), JSON.stringify(t)).toHaveProperty('json');
      }
    }
  });

  it('a Uint8Array that is not a Buffer is read like a Buffer', () => {
    const bytes = encodeJson(Everything, '{"fString":"x","rNested":[{"name":"y"}]}');
    same(Everything, new Uint8Array(bytes));
  });
});

describe('proto2: optional with defaults, required, groups', () => {
  const p2 = protobuf.parse(
    `syntax = "proto2";
     package p2;
     enum E { E_ONE = 1; E_TWO = 2; }
     message M {
       optional int32 a = 1 [default = 5];
       optional string s = 2 [default = "dflt"];
       optional E e = 3 [default = E_TWO];
       repeated int32 r = 4;
       optional Sub sub = 5;
       map<string, E> m = 6;
     }
     message Sub { optional int64 x = 1; }
     message Req { required int32 id = 1; optional int32 other = 2; }
     message WithGroup { optional group G = 1 { optional int32 v = 2; } optional int32 after = 3; }`,
    { keepCase: true },
  ).root;
  p2.resolveAll();
  const c = createJsonCodec(p2);
  const M = p2.lookupType('p2.M');
  const Req = p2.lookupType('p2.Req');
  const WithGroup = p2.lookupType('p2.WithGroup');

  it.each<[string, protobuf.Type, Uint8Array]>([
    ['nothing set', M, new Uint8Array(0)],
    ['optionals set to zero', M, M.encode({ a: 0, s: '', e: 1, r: [0, 1], sub: { x: 0 } }).finish()],
    ['map of a closed enum with an unknown value', M, wire((w) => w.uint32(tag(6, 2)).fork().uint32(tag(1, 2)).string('k').uint32(tag(2, 0)).int32(7).ldelim().uint32(tag(6, 2)).fork().ldelim())],
    ['required present', Req, Req.encode({ id: 3 }).finish()],
    ['required missing', Req, Req.encode({ other: 3 }).finish()],
    ['group', WithGroup, Buffer.from([0x0b, 0x10, 0x07, 0x0c, 0x18, 0x01])],
  ])('%s', (_name, type, bytes) => {
    same(type, Buffer.from(bytes), c);
  });
});

describe('64-bit decimal text without Long or BigInt', () => {

  it('matches BigInt for edge values and 20,000 random ones', () => {
    const next = seededRandom(42);
    const u32 = (): number => Math.floor(next() * 4294967296) >>> 0;
    const pairs: Array<[number, number]> = [
      [0, 0], [1, 0], [0xffffffff, 0], [0, 1], [0xffffffff, 0x1fffff], [0, 0x200000], [0xffffffff, 0xffffffff],
      [0, 0x80000000], [0xffffffff, 0x7fffffff], [1, 0x80000000], [0x5f5e0ff, 0x3b9aca0], [0x89e80000, 0x8ac72304],
    ];
    for (let i = 0; i < 20_000; i++) pairs.push([u32(), i % 3 === 0 ? u32() & 0x3fffff : u32()]);
    for (const [lo, hi] of pairs) {
      const u = (BigInt(hi) << 32n) | BigInt(lo);
      expect(uint64Text(lo, hi)).toBe(u.toString());
      expect(int64Text(lo, hi, true)).toBe(u.toString());
      expect(int64Text(lo, hi, false)).toBe(BigInt.asIntN(64, u).toString());
    }
  });
});

describe('generative: seeded random messages and byte mutations', () => {
  const next = seededRandom(20240601);
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <X>(xs: readonly X[]): X => xs[int(xs.length)]!;

  const INT64S = ['0', '1', '-1', '9007199254740993', '-9223372036854775808', '9223372036854775807', '4294967296', '123456789'];
  const UINT64S = ['0', '1', '18446744073709551615', '9007199254740993', '4294967295'];
  const STRINGS = ['', 'a', 'héllo', '"q"\\', '\u0001\n', '😀', '10', '__proto__', 'constructor', 'x'.repeat(40)];
  const DOUBLES = [0, -0, 1.5, -2.25, 1e-7, 1e21, 'NaN', 'Infinity', '-Infinity', 0.1, 5e-324];
  const TIMESTAMPS = ['1970-01-01T00:00:00Z', '2024-02-29T23:59:59.123Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z', '2000-01-01T00:00:00.000001Z'];

  /** A random JSON value for one field, by kind; depth bounds recursion. */
  const value = (field: protobuf.Field, depth: number): unknown => {
    const t = field.resolvedType;
    if (t instanceof protobuf.Enum) return t.fullName === '.google.protobuf.NullValue' ? null : pick([...Object.keys(t.values), 0, 1, 17]);
    if (t instanceof protobuf.Type) return messageValue(t, depth + 1);
    switch (field.type) {
      case 'int64': case 'sint64': case 'sfixed64': return pick(INT64S);
      case 'uint64': case 'fixed64': return pick(UINT64S);
      case 'int32': case 'sint32': case 'sfixed32': return pick([0, 1, -1, 2147483647, -2147483648, 300]);
      case 'uint32': case 'fixed32': return pick([0, 1, 4294967295, 128]);
      case 'double': return pick(DOUBLES);
      case 'float': return pick([0, 0.1, -1.5, 'NaN', 3.4e38]);
      case 'bool': return pick([true, false]);
      case 'string': return pick(STRINGS);
      case 'bytes': return pick(['', 'AQ==', '/w==', 'AAECAwQFBgcICQ==']);
      default: throw new Error(field.type);
    }
  };
  const messageValue = (type: protobuf.Type, depth: number): unknown => {
    switch (type.fullName) {
      case '.google.protobuf.Timestamp': return pick(TIMESTAMPS);
      case '.google.protobuf.Duration': return pick(['0s', '1.5s', '-0.000000001s', '315576000000s']);
      case '.google.protobuf.FieldMask': return pick(['', 'a.bC,d', 'x']);
      case '.google.protobuf.Struct': return { a: pick([1, 'x', null, [true], { b: {} }]) };
      case '.google.protobuf.Value': return pick([1, 'x', null, [true, { c: 2 }], {}]);
      case '.google.protobuf.ListValue': return pick([[], [1, 'a'], [[null]]]);
      case '.google.protobuf.Any': return pick([{}, { '@type': `${T}codectest.v1.Nested`, name: 'n', count: '3' }, { '@type': `${T}google.protobuf.Timestamp`, value: '2020-01-01T00:00:00Z' }]);
      case '.google.protobuf.Empty': return {};
    }
    if (type.fullName.startsWith('.google.protobuf.') && type.fullName.endsWith('Value')) return value(type.fieldsById[1]!, depth);
    const out: Record<string, unknown> = {};
    if (depth > 3) return out;
    let oneofTaken = false;
    for (const f of type.fieldsArray) {
      if (next() < 0.5) continue;
      if (f.partOf !== null && f.partOf.fieldsArray.length > 1) {
        if (oneofTaken) continue;
        oneofTaken = true;
      }
      if (f.map) {
        const m: Record<string, unknown> = {};
        const keyType = (f as unknown as protobuf.MapField).keyType;
        for (let i = int(4); i > 0; i--) {
          const k = keyType === 'bool' ? pick(['true', 'false']) : keyType === 'string' ? pick(STRINGS) : keyType.includes('64') ? pick(keyType.startsWith('u') || keyType.startsWith('fixed') ? UINT64S : INT64S) : String(pick([0, 1, -1, 7, 2147483647]));
          m[k] = value(f, depth);
        }
        out[f.name] = m;
      } else if (f.repeated) {
        out[f.name] = Array.from({ length: int(4) }, () => value(f, depth));
      } else {
        out[f.name] = value(f, depth);
      }
    }
    return out;
  };

  const samples: Uint8Array[] = [];
  for (let i = 0; i < 150; i++) {
    const json = JSON.stringify(messageValue(Everything, 0));
    try {
      samples.push(codec.encode(Everything, codec.messageFromJson(Everything, parseJson(json, 64), DEFAULT_READ_OPTIONS)));
    } catch (err) {
      // Values the generator picks blindly (e.g. a uint32 key -1) may be refused by the reader: skip them.
      if (!(err instanceof CodecError)) throw err;
    }
  }

  it('generated enough messages', () => {
    expect(samples.length).toBeGreaterThan(100);
  });

  it('150 random messages: one pass = two passes, every option set', () => {
    const w = countingWire();
    for (const bytes of samples) {
      same(Everything, bytes);
      w.bytesToJson(Everything, bytes, ALL_OPTIONS[15]!);
    }
    expect(w.fallbacks()).toBe(0);
  });

  /**
   * protobuf's merge of two decoded messages, written from the rules (protobuf.dev encoding "Last One
   * Wins"): scalars and map entries of `b` replace `a`'s, repeated fields concatenate, singular messages
   * merge recursively, and a oneof member set in `b` clears `a`'s other members.
   */
  const mergeRef = (type: protobuf.Type, a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const own = (o: Record<string, unknown>, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);
    const out: Record<string, unknown> = {};
    for (const f of type.fieldsArray) {
      const av = own(a, f.name);
      const bv = own(b, f.name);
      if (av === undefined && bv === undefined) continue;
      if (f.map) out[f.name] = Object.assign(Object.create(null), av, bv);
      else if (f.repeated) out[f.name] = [...((av as unknown[]) ?? []), ...((bv as unknown[]) ?? [])];
      else if (f.resolvedType instanceof protobuf.Type && av != null && bv != null) out[f.name] = mergeRef(f.resolvedType, av as Record<string, unknown>, bv as Record<string, unknown>);
      else out[f.name] = bv !== undefined ? bv : av;
    }
    for (const o of type.oneofsArray) {
      const set = o.fieldsArray.find((f) => own(b, f.name) !== undefined);
      if (set !== undefined) for (const f of o.fieldsArray) if (f !== set) delete out[f.name];
    }
    return out;
  };

  it('two random messages concatenated decode as protobuf merges them, in one pass or two', () => {
    let merged = 0;
    for (let i = 0; i + 1 < samples.length; i += 2) {
      const [x, y] = [samples[i]!, samples[i + 1]!];
      const both = Buffer.concat([x, y]);
      // A merge can be invalid (a Duration's seconds from one side, its nanos from the other): then both fail alike.
      const expected = outcome(() => codec.messageToJson(Everything, mergeRef(Everything, codec.decode(Everything, x), codec.decode(Everything, y)), ALL_OPTIONS[0]!));
      expect(same(Everything, both)).toEqual(expected);
      if (!('json' in expected) || expected.json !== codec.messageToJson(Everything, codec.decode(Everything, y), ALL_OPTIONS[0]!)) merged++;
    }
    expect(merged).toBeGreaterThan(30); // most pairs do not reduce to "the second one wins"
  });

  it('random mutations (truncation, byte flips, splices): same text or same CodecError', () => {
    let errors = 0;
    for (const bytes of samples.slice(0, 80)) {
      for (let m = 0; m < 6; m++) {
        const b = Buffer.from(bytes);
        let mutated: Buffer;
        switch (m % 3) {
          case 0:
            mutated = b.subarray(0, int(b.length + 1));
            break;
          case 1:
            for (let k = 0; k < 3 && b.length > 0; k++) b[int(b.length)] = int(256);
            mutated = b;
            break;
          default: {
            const cut = int(b.length + 1);
            mutated = Buffer.concat([b.subarray(0, cut), Buffer.from([int(256), int(256)]), b.subarray(cut)]);
          }
        }
        const r = same(Everything, mutated);
        if ('error' in r) errors++;
      }
    }
    expect(errors).toBeGreaterThan(0); // the mutations do reach the error paths
  });
});

describe('through the codec facade', () => {
  it('a malformed response names the type, as decode does', () => {
    const r = same(Nested, Buffer.from([0x0a, 0xff]));
    expect(r).toEqual({ error: expect.stringMatching(/^malformed protobuf for codectest\.v1\.Nested: /), field: '' });
  });
  it.each([
    ['at the top', [0x0a, 0x05, 0x61]],
    ['in a nested message, past its end but inside the buffer', [0x1a, 0x03, 0x0a, 0x05, 0x61, 0x62, 0x63, 0x64]],
  ])('a string running past its message (%s) is malformed, not cut short as protobufjs cuts it', (_n, bytes) => {
    expect(same(Nested, Buffer.from(bytes))).toEqual({ error: expect.stringMatching(/^malformed protobuf for codectest\.v1\.Nested: index out of range/), field: '' });
  });
  it('a value with no JSON form names its path, as messageToJson does', () => {
    const bytes = wire((w) => w.uint32(tag(90, 2)).fork().ldelim().uint32(tag(90, 2)).fork().uint32(tag(2, 0)).int32(-1).ldelim());
    expect(same(Everything, bytes)).toEqual({ error: expect.stringContaining('outside the Timestamp range'), field: 'rTimestamp[1]' });
  });
});
