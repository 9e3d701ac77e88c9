/**
 * The codec end to end over test/fixtures/codec/codec_test.proto. Cases follow the proto3 JSON mapping
 * (https://protobuf.dev/programming-guides/json/) table by table; "round trip" means
 * JSON text → parseJson → messageFromJson → encode → decode → messageToJson.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../registry/load.js';
import {
  CodecError,
  createJsonCodec,
  DEFAULT_READ_OPTIONS,
  DEFAULT_WRITE_OPTIONS,
  parseJson,
  type Msg,
  type ReadOptions,
  type WriteOptions,
} from './index.js';
import { parseJsonPrecise } from './parse-json.js';

const { root } = loadRegistry(['test/fixtures/codec']);
const codec = createJsonCodec(root);
const Everything = root.lookupType('codectest.v1.Everything');
const Deep = root.lookupType('codectest.v1.Deep');
const Hostile = root.lookupType('codectest.v1.Hostile');
const Struct = root.lookupType('google.protobuf.Struct');
const Value = root.lookupType('google.protobuf.Value');
const Nested = root.lookupType('codectest.v1.Nested');
const field = (name: string): protobuf.Field => Everything.fields[name]!;

const T = 'type.googleapis.com/';

function read(json: string, opts: Partial<ReadOptions> = {}, type = Everything): Msg {
  return codec.messageFromJson(type, parseJson(json, 64), { ...DEFAULT_READ_OPTIONS, ...opts });
}
function write(msg: Msg, opts: Partial<WriteOptions> = {}, type = Everything): string {
  return codec.messageToJson(type, msg, { ...DEFAULT_WRITE_OPTIONS, ...opts });
}
function viaBinary(msg: Msg, type = Everything): Msg {
  return codec.decode(type, codec.encode(type, msg));
}
function roundTrip(json: string, opts: Partial<WriteOptions> = {}, type = Everything): string {
  return write(viaBinary(read(json, {}, type), type), opts, type);
}
function codecError(f: () => unknown): CodecError {
  try {
    f();
  } catch (err) {
    if (err instanceof CodecError) return err;
    throw err;
  }
  throw new Error('expected a CodecError');
}

describe('round trips (canonical output, through binary)', () => {
  it.each<[string, string, unknown]>([
    // Scalars: 64-bit integers as strings out, numbers or strings in.
    ['int64 from number', '{"fInt64":123}', { fInt64: '123' }],
    ['int64 min', '{"fInt64":"-9223372036854775808"}', { fInt64: '-9223372036854775808' }],
    ['int64 max as a number literal', '{"fInt64":9223372036854775807}', { fInt64: '9223372036854775807' }],
    ['int64 past 2^53 keeps precision', '{"fInt64":9007199254740993}', { fInt64: '9007199254740993' }],
    ['uint64 max', '{"fUint64":"18446744073709551615"}', { fUint64: '18446744073709551615' }],
    ['uint64 max as a number literal', '{"fUint64":18446744073709551615}', { fUint64: '18446744073709551615' }],
    ['sint64 min', '{"fSint64":"-9223372036854775808"}', { fSint64: '-9223372036854775808' }],
    ['fixed64 max', '{"fFixed64":"18446744073709551615"}', { fFixed64: '18446744073709551615' }],
    ['sfixed64 min', '{"fSfixed64":-9223372036854775808}', { fSfixed64: '-9223372036854775808' }],
    ['int32 min and max', '{"fInt32":-2147483648,"fSint32":2147483647}', { fInt32: -2147483648, fSint32: 2147483647 }],
    ['uint32 / fixed32 max', '{"fUint32":4294967295,"fFixed32":"4294967295"}', { fUint32: 4294967295, fFixed32: 4294967295 }],
    ['sfixed32 min', '{"fSfixed32":"-2147483648"}', { fSfixed32: -2147483648 }],
    ['exponent for int', '{"fInt32":"1e3","fInt64":1e3}', { fInt32: 1000, fInt64: '1000' }],
    ['integral fraction for int', '{"fInt32":2.0,"fUint64":"5.00"}', { fInt32: 2, fUint64: '5' }],
    ['-0 for int is 0 (the default)', '{"fInt32":-0,"fInt64":"-0"}', {}],
    ['NaN / Infinity as strings', '{"fDouble":"NaN","fFloat":"-Infinity"}', { fDouble: 'NaN', fFloat: '-Infinity' }],
    ['Infinity', '{"fDouble":"Infinity"}', { fDouble: 'Infinity' }],
    ['-0 double is kept', '{"fDouble":-0}', { fDouble: -0 }],
    ['numbers as strings for floats', '{"fDouble":"1.5","fFloat":"2.5e1"}', { fDouble: 1.5, fFloat: 25 }],
    ['float keeps its 32-bit shortest form', '{"fFloat":0.1}', { fFloat: 0.1 }],
    ['bool', '{"fBool":true}', { fBool: true }],
    ['string with escapes', '{"fString":"é\\"\\\\\\n\\u0001😀"}', { fString: 'é"\\\n\u0001😀' }],
    ['bytes: URL-safe, unpadded in; standard, padded out', '{"fBytes":"-_8"}', { fBytes: '+/8=' }],
    ['enum by name', '{"fEnum":"COLOR_RED"}', { fEnum: 'COLOR_RED' }],
    ['enum by number', '{"fEnum":2}', { fEnum: 'COLOR_GREEN' }],
    ['unknown enum number is kept and written as a number', '{"fEnum":42}', { fEnum: 42 }],
    ['defaults are omitted', '{"fInt32":0,"fString":"","fBool":false,"fEnum":"COLOR_UNSPECIFIED","fInt64":"0","fBytes":"","fDouble":0}', {}],
    ['null means the default', '{"fInt32":null,"fNested":null,"rInt32":null,"mString":null,"wTimestamp":null,"wInt32":null,"oString":null}', {}],
    // Names: JSON name out; JSON name or proto name in; json_name option.
    ['proto names are accepted', '{"f_int32":5,"r_nested":[{"name":"a"}],"w_duration":"1s"}', { fInt32: 5, rNested: [{ name: 'a' }], wDuration: '1s' }],
    ['custom json_name', '{"customName":"x"}', { customName: 'x' }],
    ['custom json_name, proto name in', '{"renamed":"x"}', { customName: 'x' }],
    // Presence: proto3 optional and oneof members are written even when default.
    ['proto3 optional zero', '{"pInt32":0,"pString":"","pEnum":"COLOR_UNSPECIFIED"}', { pInt32: 0, pString: '', pEnum: 'COLOR_UNSPECIFIED' }],
    ['oneof member with the default value', '{"oString":""}', { oString: '' }],
    ['oneof NullValue member', '{"oNull":null}', { oNull: null }],
    ['oneof enum member', '{"oEnum":"COLOR_UNSPECIFIED"}', { oEnum: 'COLOR_UNSPECIFIED' }],
    ['oneof with a null second member', '{"oInt64":"7","oString":null}', { oInt64: '7' }],
    ['oneof message member', '{"oNested":{}}', { oNested: {} }],
    // Repeated and nested.
    ['repeated int64', '{"rInt64":[1,"2",-3]}', { rInt64: ['1', '2', '-3'] }],
    ['repeated misc', '{"rString":["a",""],"rBool":[true,false],"rDouble":["NaN",1.5],"rBytes":["AQ"],"rEnum":["COLOR_BLUE",1]}',
      { rString: ['a', ''], rBool: [true, false], rDouble: ['NaN', 1.5], rBytes: ['AQ=='], rEnum: ['COLOR_BLUE', 'COLOR_RED'] }],
    ['nested', '{"fNested":{"name":"a","child":{"count":"5","child":{}}}}', { fNested: { name: 'a', child: { count: '5', child: {} } } }],
    ['empty repeated is omitted', '{"rNested":[]}', {}],
    // Maps: keys in their string form.
    ['map<string,string>', '{"mString":{"a":"b","":"empty"}}', { mString: { a: 'b', '': 'empty' } }],
    ['map<int32,string>', '{"mInt32":{"1":"a","-2":"b"}}', { mInt32: { '1': 'a', '-2': 'b' } }],
    ['map<int64,string>', '{"mInt64":{"-5":"x","9223372036854775807":"y","0":"z"}}', { mInt64: { '-5': 'x', '9223372036854775807': 'y', '0': 'z' } }],
    ['map<uint64,int64>', '{"mUint64":{"18446744073709551615":-1}}', { mUint64: { '18446744073709551615': '-1' } }],
    ['map<bool,string> keeps the false key', '{"mBool":{"true":"t","false":"f"}}', { mBool: { true: 't', false: 'f' } }],
    ['map<sint32,bytes>', '{"mSint32":{"-1":"AQ","2":""}}', { mSint32: { '-1': 'AQ==', '2': '' } }],
    ['map<string,Nested>', '{"mNested":{"k":{"name":"n"},"e":{}}}', { mNested: { k: { name: 'n' }, e: {} } }],
    ['map<string,Color>', '{"mEnum":{"a":"COLOR_BLUE","b":1}}', { mEnum: { a: 'COLOR_BLUE', b: 'COLOR_RED' } }],
    ['map<string,Value> with null', '{"mValue":{"k":null,"n":1}}', { mValue: { k: null, n: 1 } }],
    // Well-known types.
    ['Timestamp with offset, Z out', '{"wTimestamp":"2017-01-14T20:30:15.5-05:00"}', { wTimestamp: '2017-01-15T01:30:15.500Z' }],
    ['Duration', '{"wDuration":"-1.5s"}', { wDuration: '-1.500s' }],
    ['Duration zero is still set', '{"wDuration":"0s"}', { wDuration: '0s' }],
    ['FieldMask', '{"wFieldMask":"user.displayName,photo"}', { wFieldMask: 'user.displayName,photo' }],
    ['FieldMask empty', '{"wFieldMask":""}', { wFieldMask: '' }],
    ['Struct', '{"wStruct":{"a":[1,"x",null,true,{"b":{}}],"c":{}}}', { wStruct: { a: [1, 'x', null, true, { b: {} }], c: {} } }],
    ['Value null', '{"wValue":null}', { wValue: null }],
    ['Value number', '{"wValue":1.5}', { wValue: 1.5 }],
    ['Value string', '{"wValue":"s"}', { wValue: 's' }],
    ['Value bool', '{"wValue":false}', { wValue: false }],
    ['Value list', '{"wValue":[[]]}', { wValue: [[]] }],
    ['Value struct', '{"wValue":{"k":{}}}', { wValue: { k: {} } }],
    ['ListValue', '{"wListValue":[1,[2],{"a":null}]}', { wListValue: [1, [2], { a: null }] }],
    ['ListValue empty', '{"wListValue":[]}', { wListValue: [] }],
    ['NullValue field holds its default', '{"wNullValue":null}', {}],
    ['Empty', '{"wEmpty":{}}', { wEmpty: {} }],
    ['wrappers hold their bare value',
      '{"wDouble":"NaN","wFloat":0.1,"wInt64":"-5","wUint64":"18446744073709551615","wInt32":-1,"wUint32":4294967295,"wBool":true,"wString":"s","wBytes":"AAE"}',
      { wDouble: 'NaN', wFloat: 0.1, wInt64: '-5', wUint64: '18446744073709551615', wInt32: -1, wUint32: 4294967295, wBool: true, wString: 's', wBytes: 'AAE=' }],
    ['wrappers with default values are present', '{"wInt32":0,"wString":"","wBool":false,"wInt64":"0","wBytes":""}',
      { wInt32: 0, wString: '', wBool: false, wInt64: '0', wBytes: '' }],
    ['repeated WKTs', '{"rTimestamp":["1970-01-01T00:00:00Z","2000-01-01T00:00:00.000001Z"],"rValue":[null,1,"s",true,[],{}],"rInt64Value":[1,"2"]}',
      { rTimestamp: ['1970-01-01T00:00:00Z', '2000-01-01T00:00:00.000001Z'], rValue: [null, 1, 's', true, [], {}], rInt64Value: ['1', '2'] }],
    // Any.
    ['Any with a message', `{"wAny":{"@type":"${T}codectest.v1.Nested","name":"n","count":"3","child":{"name":"c"}}}`,
      { wAny: { '@type': `${T}codectest.v1.Nested`, name: 'n', count: '3', child: { name: 'c' } } }],
    ['Any with an empty message', `{"wAny":{"@type":"${T}codectest.v1.Nested"}}`, { wAny: { '@type': `${T}codectest.v1.Nested` } }],
    ['Any empty', '{"wAny":{}}', { wAny: {} }],
    ['Any with Timestamp uses "value"', `{"wAny":{"@type":"${T}google.protobuf.Timestamp","value":"2017-01-15T01:30:15Z"}}`,
      { wAny: { '@type': `${T}google.protobuf.Timestamp`, value: '2017-01-15T01:30:15Z' } }],
    ['Any with Duration', `{"wAny":{"@type":"${T}google.protobuf.Duration","value":"2s"}}`, { wAny: { '@type': `${T}google.protobuf.Duration`, value: '2s' } }],
    ['Any with Struct', `{"wAny":{"@type":"${T}google.protobuf.Struct","value":{"a":[1]}}}`, { wAny: { '@type': `${T}google.protobuf.Struct`, value: { a: [1] } } }],
    ['Any with Value', `{"wAny":{"@type":"${T}google.protobuf.Value","value":"x"}}`, { wAny: { '@type': `${T}google.protobuf.Value`, value: 'x' } }],
    ['Any with ListValue', `{"wAny":{"@type":"${T}google.protobuf.ListValue","value":[null]}}`, { wAny: { '@type': `${T}google.protobuf.ListValue`, value: [null] } }],
    ['Any with FieldMask', `{"wAny":{"@type":"${T}google.protobuf.FieldMask","value":"a.bC"}}`, { wAny: { '@type': `${T}google.protobuf.FieldMask`, value: 'a.bC' } }],
    ['Any with Empty', `{"wAny":{"@type":"${T}google.protobuf.Empty","value":{}}}`, { wAny: { '@type': `${T}google.protobuf.Empty`, value: {} } }],
    ['Any with a wrapper', `{"wAny":{"@type":"${T}google.protobuf.Int64Value","value":"9223372036854775807"}}`,
      { wAny: { '@type': `${T}google.protobuf.Int64Value`, value: '9223372036854775807' } }],
    ['Any with Empty and no "value" (other implementations write it so)', `{"wAny":{"@type":"${T}google.protobuf.Empty"}}`,
      { wAny: { '@type': `${T}google.protobuf.Empty`, value: {} } }],
    ['Any in Any', `{"wAny":{"@type":"${T}google.protobuf.Any","value":{"@type":"${T}google.protobuf.Duration","value":"1s"}}}`,
      { wAny: { '@type': `${T}google.protobuf.Any`, value: { '@type': `${T}google.protobuf.Duration`, value: '1s' } } }],
    ['Any type URL with another host', '{"wAny":{"@type":"example.com/x/codectest.v1.Nested","name":"n"}}',
      { wAny: { '@type': 'example.com/x/codectest.v1.Nested', name: 'n' } }],
    ['repeated Any', `{"rAny":[{"@type":"${T}codectest.v1.Nested","count":"1"},{"@type":"${T}google.protobuf.BoolValue","value":false}]}`,
      { rAny: [{ '@type': `${T}codectest.v1.Nested`, count: '1' }, { '@type': `${T}google.protobuf.BoolValue`, value: false }] }],
    // Precision beyond doubles also inside Struct (a Value number is a double).
    ['big numbers in Struct are doubles', '{"wValue":12345678901234567890}', { wValue: 12345678901234567000 }],
    ['exponent literals', '{"fDouble":1E2,"fEnum":1.0e0}', { fDouble: 100, fEnum: 'COLOR_RED' }],
  ])('%s', (_name, json, expected) => {
    const direct = write(read(json));
    const binary = roundTrip(json);
    // The writer takes both Msg forms (reader output and decode output) and gives the same JSON.
    expect(JSON.parse(binary)).toEqual(JSON.parse(direct));
    if (expected !== undefined) expect(JSON.parse(binary)).toEqual(expected);
  });

  it('canonicalises integer map keys, later spellings of the same key being rejected', () => {
    expect(read('{"mInt32":{"+7":"a"}}')['m_int32']).toEqual(Object.assign(Object.create(null), { '7': 'a' }));
    expect(codecError(() => read('{"mInt32":{"+7":"a","007":"b"}}')).message).toBe(
      'invalid value for mInt32["007"]: duplicate map key ("7" was already given)',
    );
  });

  it('writes -0 and exact 64-bit text', () => {
    expect(roundTrip('{"fDouble":-0,"fInt64":"-9223372036854775808","fUint64":"18446744073709551615"}')).toBe(
      '{"fDouble":-0,"fInt64":"-9223372036854775808","fUint64":"18446744073709551615"}',
    );
  });
});

describe('read errors name the field path and the value', () => {
  it.each<[string, string]>([
    ['{"fInt64":"12x"}', 'invalid value for fInt64: "12x" is not a 64-bit integer'],
    ['{"fInt64":1.5}', 'invalid value for fInt64: 1.5 is not a 64-bit integer: it has a fractional part'],
    ['{"fUint64":-1}', 'invalid value for fUint64: -1 is out of range for an unsigned 64-bit integer'],
    ['{"fInt64":9223372036854775808}', 'invalid value for fInt64: 9223372036854775808 is out of range for a 64-bit integer'],
    ['{"fInt32":2147483648}', 'invalid value for fInt32: 2147483648 is out of range for a 32-bit integer'],
    ['{"f_int32":"x"}', 'invalid value for f_int32: "x" is not a 32-bit integer'],
    ['{"rNested":[{},{},{"count":"1.5"}]}', 'invalid value for rNested[2].count: "1.5" is not a 64-bit integer: it has a fractional part'],
    ['{"mNested":{"k":{"count":true}}}', 'invalid value for mNested["k"].count: true is not a 64-bit integer'],
    ['{"mInt32":{"x":"a"}}', 'invalid value for mInt32["x"]: map key "x" is not a 32-bit integer'],
    ['{"mBool":{"yes":"a"}}', 'invalid value for mBool["yes"]: map key "yes" is not "true" or "false"'],
    ['{"mUint64":{"-1":"1"}}', 'invalid value for mUint64["-1"]: map key "-1" is out of range for an unsigned 64-bit integer'],
    ['{"nope":1}', 'invalid value for nope: unknown field: codectest.v1.Everything has no field named "nope"'],
    ['{"fNested":{"child":{"nope":1}}}', 'invalid value for fNested.child.nope: unknown field: codectest.v1.Nested has no field named "nope"'],
    ['{"weird key":1}', 'invalid value for ["weird key"]: unknown field: codectest.v1.Everything has no field named "weird key"'],
    ['{"oString":"a","oInt64":"1"}', 'invalid value for oInt64: oneof choice already has "oString" set; give only one of its fields'],
    ['{"oNested":{},"o_null":null}', 'invalid value for o_null: oneof choice already has "oNested" set; give only one of its fields'],
    ['{"fInt32":1,"f_int32":2}', 'invalid value for f_int32: field f_int32 is given twice (by its JSON name and its proto name)'],
    ['{"fEnum":"COLOR_PURPLE"}', 'invalid value for fEnum: "COLOR_PURPLE" is not a value of enum codectest.v1.Color'],
    ['{"fEnum":"color_red"}', 'invalid value for fEnum: "color_red" is not a value of enum codectest.v1.Color'],
    ['{"fEnum":"1"}', 'invalid value for fEnum: "1" is not a value of enum codectest.v1.Color'],
    ['{"fEnum":1.5}', 'invalid value for fEnum: 1.5 is not a 32-bit integer: it has a fractional part'],
    ['{"fEnum":true}', 'invalid value for fEnum: true is not a value of enum codectest.v1.Color'],
    ['{"fBool":"true"}', 'invalid value for fBool: "true" is not a boolean'],
    ['{"fString":1}', 'invalid value for fString: 1 is not a string'],
    ['{"fBytes":"***"}', 'invalid value for fBytes: "***" is not valid base64'],
    ['{"fFloat":1e39}', 'invalid value for fFloat: 1e39 is out of range for a 32-bit float'],
    ['{"fDouble":1e999}', 'invalid value for fDouble: 1e999 is out of range for a double'],
    ['{"fDouble":"1,5"}', 'invalid value for fDouble: "1,5" is not a number'],
    ['{"rInt32":1}', 'invalid value for rInt32: 1 is not a JSON array (repeated field)'],
    ['{"rInt32":[1,null]}', 'invalid value for rInt32[1]: null is not a valid element of a repeated field'],
    ['{"mString":[]}', 'invalid value for mString: an array is not a JSON object (map field)'],
    ['{"mString":{"a":null}}', 'invalid value for mString["a"]: null is not a valid map value'],
    ['{"mString":{"a":1}}', 'invalid value for mString["a"]: 1 is not a string'],
    ['{"fNested":[]}', 'invalid value for fNested: an array is not a JSON object (codectest.v1.Nested)'],
    ['[]', 'an array is not a JSON object (codectest.v1.Everything)'],
    ['"x"', '"x" is not a JSON object (codectest.v1.Everything)'],
    ['{"wTimestamp":"2017-13-01T00:00:00Z"}', 'invalid value for wTimestamp: "2017-13-01T00:00:00Z" is not a valid timestamp'],
    ['{"wTimestamp":"2017-01-01"}', 'invalid value for wTimestamp: "2017-01-01" is not an RFC 3339 timestamp'],
    ['{"wTimestamp":0}', 'invalid value for wTimestamp: 0 is not an RFC 3339 timestamp string'],
    ['{"wTimestamp":"10000-01-01T00:00:00Z"}', 'invalid value for wTimestamp: "10000-01-01T00:00:00Z" is not an RFC 3339 timestamp'],
    ['{"rTimestamp":["1970-01-01T00:00:00Z","x"]}', 'invalid value for rTimestamp[1]: "x" is not an RFC 3339 timestamp'],
    ['{"wDuration":"1"}', 'invalid value for wDuration: "1" is not a duration (expected seconds with an "s" suffix, e.g. "1.5s")'],
    ['{"wDuration":"315576000001s"}', 'invalid value for wDuration: "315576000001s" is outside the Duration range of ±315576000000s'],
    ['{"wDuration":{"seconds":1}}', 'invalid value for wDuration: an object is not a duration string such as "1.5s"'],
    ['{"wFieldMask":"a_b"}', 'invalid value for wFieldMask: "a_b" is not a lowerCamelCase field path (in field mask "a_b")'],
    ['{"wFieldMask":["a"]}', 'invalid value for wFieldMask: an array is not a field mask string such as "user.displayName,photo"'],
    ['{"wStruct":[]}', 'invalid value for wStruct: an array is not a JSON object (google.protobuf.Struct)'],
    ['{"wListValue":{}}', 'invalid value for wListValue: an object is not a JSON array (google.protobuf.ListValue)'],
    ['{"wStruct":{"a":{"b":[1,{"c":1e999}]}}}', 'invalid value for wStruct["a"]["b"][1]["c"]: 1e999 is out of range for a double'],
    ['{"wInt32":"x"}', 'invalid value for wInt32: "x" is not a 32-bit integer'],
    ['{"wBool":"true"}', 'invalid value for wBool: "true" is not a boolean'],
    ['{"rInt64Value":[1,null]}', 'invalid value for rInt64Value[1]: null is not a valid element of a repeated field'],
    ['{"wNullValue":"NULL"}', 'invalid value for wNullValue: "NULL" is not a value of enum google.protobuf.NullValue'],
    ['{"wEmpty":{"a":1}}', 'invalid value for wEmpty.a: unknown field: google.protobuf.Empty has no field named "a"'],
    ['{"wAny":{"name":"x"}}', 'invalid value for wAny: google.protobuf.Any needs an "@type" key naming the type of its contents'],
    [`{"wAny":{"@type":"${T}no.such.Type"}}`, `invalid value for wAny["@type"]: unknown message type "${T}no.such.Type": no loaded proto defines it`],
    ['{"wAny":{"@type":"Nested"}}', 'invalid value for wAny["@type"]: unknown message type "Nested": no loaded proto defines it'],
    [`{"wAny":{"@type":"${T}codectest.v1.Color"}}`, `invalid value for wAny["@type"]: unknown message type "${T}codectest.v1.Color": no loaded proto defines it`],
    ['{"wAny":{"@type":5}}', 'invalid value for wAny["@type"]: 5 is not a type URL'],
    [`{"wAny":{"@type":"${T}google.protobuf.Duration"}}`, 'invalid value for wAny: an Any holding google.protobuf.Duration needs a "value" key'],
    [`{"wAny":{"@type":"${T}google.protobuf.Duration","value":"1x"}}`, 'invalid value for wAny.value: "1x" is not a duration (expected seconds with an "s" suffix, e.g. "1.5s")'],
    [`{"wAny":{"@type":"${T}google.protobuf.Duration","value":"1s","extra":1}}`, 'invalid value for wAny.extra: unknown field: an Any holding google.protobuf.Duration has only "@type" and "value"'],
    [`{"wAny":{"@type":"${T}codectest.v1.Nested","count":"x"}}`, 'invalid value for wAny.count: "x" is not a 64-bit integer'],
    [`{"wAny":{"@type":"${T}codectest.v1.Nested","nope":1}}`, 'invalid value for wAny.nope: unknown field: codectest.v1.Nested has no field named "nope"'],
    [`{"rAny":[{"@type":"${T}codectest.v1.Nested","child":{"count":"x"}}]}`, 'invalid value for rAny[0].child.count: "x" is not a 64-bit integer'],
    ['{"fString":"a\\ud800"}', 'invalid value for fString: "a\\ud800" contains a lone UTF-16 surrogate, which has no UTF-8 form'],
    ['{"mString":{"\\udc00":"a"}}', 'invalid value for mString["\\udc00"]: "\\udc00" contains a lone UTF-16 surrogate, which has no UTF-8 form'],
    ['{"wStruct":{"\\ud800":1}}', 'invalid value for wStruct["\\ud800"]: the key contains a lone UTF-16 surrogate, which has no UTF-8 form'],
    ['{"wValue":["\\ud800"]}', 'invalid value for wValue[0]: "\\ud800" contains a lone UTF-16 surrogate, which has no UTF-8 form'],
    ['{"__proto__":{"polluted":true}}', 'invalid value for __proto__: unknown field: codectest.v1.Everything has no field named "__proto__"'],
    ['{"constructor":{"prototype":{"polluted":true}}}', 'invalid value for constructor: unknown field: codectest.v1.Everything has no field named "constructor"'],
  ])('%s', (json, message) => {
    const err = codecError(() => read(json));
    expect(err.message).toBe(message);
    expect(err.message).toBe(err.field === '' ? err.description : `invalid value for ${err.field}: ${err.description}`);
  });

  it('prefixes paths with `at`', () => {
    const err = codecError(() => codec.messageFromJson(Nested, { child: { count: '12x' } }, DEFAULT_READ_OPTIONS, 'payment'));
    expect(err.field).toBe('payment.child.count');
    expect(err.message).toBe('invalid value for payment.child.count: "12x" is not a 64-bit integer');
  });
});

describe('read options', () => {
  it('ignoreUnknownFields skips unknown keys at every level, Any included', () => {
    const json = `{"nope":1,"fNested":{"nope":{"deep":[1]},"name":"n"},"fInt32":5,"wAny":{"@type":"${T}codectest.v1.Nested","x":1}}`;
    const msg = read(json, { ignoreUnknownFields: true });
    expect(JSON.parse(write(msg))).toEqual({ fNested: { name: 'n' }, fInt32: 5, wAny: { '@type': `${T}codectest.v1.Nested` } });
  });

  it('caseInsensitiveEnums matches names ignoring case', () => {
    expect(read('{"fEnum":"color_red","rEnum":["Color_Blue"]}', { caseInsensitiveEnums: true })).toEqual({ f_enum: 1, r_enum: [3] });
  });

  it('maxDepth can be lowered', () => {
    const opts = { ...DEFAULT_READ_OPTIONS, maxDepth: 3 };
    expect(() => codec.messageFromJson(Everything, { fNested: { child: {} } }, opts)).not.toThrow();
    expect(codecError(() => codec.messageFromJson(Everything, { fNested: { child: { child: {} } } }, opts)).message).toBe(
      'invalid value for fNested.child.child: nesting exceeds the maximum depth of 3',
    );
    expect(codecError(() => codec.messageFromJson(Everything, { rNested: [{ child: {} }] }, opts)).field).toBe('rNested[0].child');
  });
});

describe('nesting depth limit (64 by default; every JSON object and array counts)', () => {
  const deep = (levels: number): string => '{"child":'.repeat(levels - 1) + '{"value":1}' + '}'.repeat(levels - 1);
  const deepStruct = (levels: number): string => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
  const deepList = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);

  it.each<[string, protobuf.Type, (n: number) => string]>([
    ['messages', Deep, deep],
    ['Struct', Struct, deepStruct],
    ['ListValue in Value', Value, deepList],
  ])('%s: 64 levels pass, 65 fail', (_name, type, make) => {
    expect(() => codec.messageFromJson(type, JSON.parse(make(64)), DEFAULT_READ_OPTIONS)).not.toThrow();
    expect(() => read(make(64), {}, type)).not.toThrow();
    const err = codecError(() => codec.messageFromJson(type, JSON.parse(make(65)), DEFAULT_READ_OPTIONS));
    expect(err.description).toBe('nesting exceeds the maximum depth of 64');
    // parseJson applies the same limit before the codec sees the value.
    expect(codecError(() => read(make(65), {}, type)).message).toBe('JSON nesting exceeds the maximum depth of 64');
  });

  it('names the path of the level that is too deep', () => {
    const err = codecError(() => codec.messageFromJson(Deep, JSON.parse(deep(65)), DEFAULT_READ_OPTIONS));
    expect(err.field).toBe(Array(64).fill('child').join('.'));
  });

  it('round-trips a message 64 levels deep', () => {
    const json = deep(64);
    expect(JSON.parse(roundTrip(json, {}, Deep))).toEqual(JSON.parse(json));
  });
});

describe('__proto__, constructor and prototype never touch object prototypes', () => {
  const hostile = '{"__proto__":{"polluted":"a"},"constructor":{"prototype":{"polluted":"b"}},"prototype":{"polluted":"c"}}';

  it('are unknown fields in messages', () => {
    expect(read(hostile, { ignoreUnknownFields: true })).toEqual({});
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('are plain keys in maps (null-prototype objects), through binary too', () => {
    const msg = read('{"mString":{"__proto__":"x","constructor":"y","prototype":"z","toString":"t"}}');
    const map = msg['m_string'] as Record<string, unknown>;
    expect(Object.getPrototypeOf(map)).toBeNull();
    expect(Object.keys(map).sort()).toEqual(['__proto__', 'constructor', 'prototype', 'toString']);
    expect(JSON.parse(write(viaBinary(msg)))).toEqual(JSON.parse('{"mString":{"__proto__":"x","constructor":"y","prototype":"z","toString":"t"}}'));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('are plain keys in Struct, at any depth', () => {
    const json = `{"wStruct":${hostile},"wValue":{"x":${hostile}}}`;
    const msg = read(json);
    expect(JSON.parse(write(viaBinary(msg)))).toEqual(JSON.parse(json));
    expect(JSON.parse(write(msg))).toEqual(JSON.parse(json));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('work as field names (`constructor`, JSON name `toString`)', () => {
    const msg = read('{"constructor":"c","toString":5,"name":"n"}', {}, Hostile);
    expect(Object.getPrototypeOf(msg)).toBe(Object.prototype);
    expect(Object.keys(msg)).toEqual(['constructor', 'to_string', 'name']);
    expect(write(viaBinary(msg, Hostile), {}, Hostile)).toBe('{"name":"n","constructor":"c","toString":5}');
    expect(codecError(() => read('{"constructor":"a","constructor":"b","to_string":1,"toString":2}', {}, Hostile)).message).toBe(
      'invalid value for toString: field to_string is given twice (by its JSON name and its proto name)',
    );
  });

  it('are plain keys in the maps of decoded messages', () => {
    const bytes = codec.encode(Hostile, { labels: read('{"mString":{"__proto__":"p"}}')['m_string'] });
    expect(write(codec.decode(Hostile, bytes), {}, Hostile)).toBe('{"labels":{"__proto__":"p"}}');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('write options', () => {
  it('emitUnpopulated writes defaults, null for unset messages, and skips unset oneofs and optionals', () => {
    const expected = {
      fDouble: 0, fFloat: 0, fInt32: 0, fInt64: '0', fUint32: 0, fUint64: '0', fSint32: 0, fSint64: '0',
      fFixed32: 0, fFixed64: '0', fSfixed32: 0, fSfixed64: '0', fBool: false, fString: '', fBytes: '',
      fEnum: 'COLOR_UNSPECIFIED', fNested: null,
      rInt32: [], rInt64: [], rString: [], rBytes: [], rEnum: [], rNested: [], rDouble: [], rBool: [],
      mString: {}, mInt32: {}, mInt64: {}, mUint64: {}, mBool: {}, mNested: {}, mEnum: {}, mSint32: {}, mValue: {},
      customName: '',
      wTimestamp: null, wDuration: null, wFieldMask: null, wStruct: null, wValue: null, wListValue: null,
      wNullValue: null, wAny: null, wEmpty: null, wDouble: null, wFloat: null, wInt64: null, wUint64: null,
      wInt32: null, wUint32: null, wBool: null, wString: null, wBytes: null,
      rTimestamp: [], rAny: [], rValue: [], rInt64Value: [],
    };
    expect(JSON.parse(write({}, { emitUnpopulated: true }))).toEqual(expected);
    expect(JSON.parse(write(viaBinary({}), { emitUnpopulated: true }))).toEqual(expected);
    expect(JSON.parse(write(viaBinary(read('{"oString":"x","pInt32":3}')), { emitUnpopulated: true }))).toEqual({
      ...expected, oString: 'x', pInt32: 3,
    });
  });

  it('emitUnpopulated applies inside nested messages, with numbers when asked', () => {
    expect(write(read('{"fNested":{}}'), { emitUnpopulated: true, useProtoNames: true })).toContain(
      '"f_nested":{"name":"","count":"0","child":null}',
    );
    expect(write(viaBinary(read('{"rNested":[{}]}')), { emitUnpopulated: true, int64AsNumbers: true, enumsAsNumbers: true }))
      .toContain('"fEnum":0,"fNested":null,"rInt32":[],"rInt64":[],"rString":[],"rBytes":[],"rEnum":[],"rNested":[{"name":"","count":0,"child":null}]');
  });

  it('useProtoNames writes proto field names', () => {
    expect(roundTrip('{"fInt64":"1","customName":"x","rNested":[{"count":"2"}],"mInt32":{"1":"a"}}', { useProtoNames: true })).toBe(
      '{"f_int64":"1","r_nested":[{"count":"2"}],"m_int32":{"1":"a"},"renamed":"x"}',
    );
  });

  it('enumsAsNumbers writes numbers, but NullValue stays null', () => {
    expect(roundTrip('{"fEnum":"COLOR_RED","rEnum":["COLOR_BLUE",7],"mEnum":{"a":"COLOR_GREEN"},"oNull":null}', { enumsAsNumbers: true })).toBe(
      '{"fEnum":1,"rEnum":[3,7],"mEnum":{"a":2},"oNull":null}',
    );
  });

  it('int64AsNumbers writes bare numbers (lossy for JavaScript readers), keys stay strings', () => {
    expect(
      roundTrip('{"fInt64":"9223372036854775807","fUint64":"18446744073709551615","rInt64":["-1"],"mUint64":{"1":"-2"},"wInt64":"5","wUint64":"0"}', {
        int64AsNumbers: true,
      }),
    ).toBe('{"fInt64":9223372036854775807,"fUint64":18446744073709551615,"rInt64":[-1],"mUint64":{"1":-2},"wInt64":5,"wUint64":0}');
  });

  it('writes unknown enum numbers decoded from binary as numbers', () => {
    expect(write(viaBinary({ f_enum: 42, r_enum: [1, 99], m_enum: Object.assign(Object.create(null), { a: 77 }) }))).toBe(
      '{"fEnum":42,"rEnum":["COLOR_RED",99],"mEnum":{"a":77}}',
    );
  });
});

describe('write errors name the field path', () => {
  it.each<[Msg, Partial<WriteOptions>, string, RegExp]>([
    [{ w_timestamp: { seconds: '253402300800', nanos: 0 } }, {}, 'wTimestamp', /outside the Timestamp range/],
    [{ r_timestamp: [{}, { seconds: '0', nanos: -1 }] }, {}, 'rTimestamp[1]', /outside the Timestamp range/],
    [{ r_timestamp: [{}, { seconds: '0', nanos: -1 }] }, { useProtoNames: true }, 'r_timestamp[1]', /outside the Timestamp range/],
    [{ w_duration: { seconds: '1', nanos: -1 } }, {}, 'wDuration', /not a valid Duration/],
    [{ w_field_mask: { paths: ['fooBar'] } }, {}, 'wFieldMask', /has no lowerCamelCase JSON form/],
    [{ w_value: { numberValue: NaN } }, {}, 'wValue', /cannot hold NaN/],
    [{ w_struct: { fields: { a: { listValue: { values: [{ numberValue: Infinity }] } } } } }, {}, 'wStruct["a"][0]', /cannot hold Infinity/],
    [{ m_nested: { k: { child: { child: {} } } }, w_duration: { seconds: 1, nanos: -1 } }, {}, 'wDuration', /not a valid Duration/],
  ])('%j', (msg, opts, path, description) => {
    const err = codecError(() => write(msg, opts));
    expect(err.field).toBe(path);
    expect(err.description).toMatch(description);
  });
});

describe('Any', () => {
  const nestedBytes = codec.encode(Nested, { name: 'n', count: '3' });

  it.each<[string, Uint8Array, string]>([
    [`${T}codectest.v1.Nested`, nestedBytes, `{"@type":"${T}codectest.v1.Nested","name":"n","count":"3"}`],
    [`${T}codectest.v1.Nested`, new Uint8Array(0), `{"@type":"${T}codectest.v1.Nested"}`],
    [`${T}google.protobuf.Duration`, codec.encode(root.lookupType('google.protobuf.Duration'), { seconds: '1', nanos: 0 }), `{"@type":"${T}google.protobuf.Duration","value":"1s"}`],
    [`${T}unknown.v1.Thing`, new Uint8Array([1, 2, 0xfb]), `{"@type":"${T}unknown.v1.Thing","value":"AQL7"}`],
    [`${T}codectest.v1.Nested`, new Uint8Array([0x0a, 0xff]), `{"@type":"${T}codectest.v1.Nested","value":"Cv8="}`],
    ['', new Uint8Array(0), '{}'],
  ])('anyToJson(%s)', (url, bytes, expected) => {
    expect(codec.anyToJson(url, bytes, DEFAULT_WRITE_OPTIONS)).toBe(expected);
  });

  it('falls back to base64 for an unknown type inside a message', () => {
    const msg = { w_any: { type_url: `${T}unknown.v1.Thing`, value: new Uint8Array([1, 2]) } };
    expect(write(viaBinary(msg))).toBe(`{"wAny":{"@type":"${T}unknown.v1.Thing","value":"AQI="}}`);
  });

  it('honours write options inside the payload', () => {
    expect(codec.anyToJson(`${T}codectest.v1.Nested`, codec.encode(Nested, { count: '5' }), { ...DEFAULT_WRITE_OPTIONS, int64AsNumbers: true, useProtoNames: true }))
      .toBe(`{"@type":"${T}codectest.v1.Nested","count":5}`);
  });
});

describe('fieldFromJson / fieldToJson (body: "field" and response_body: "field")', () => {
  it.each<[string, unknown, unknown]>([
    ['r_nested', [{ name: 'a', count: 1 }], [{ name: 'a', count: '1' }]],
    ['f_nested', { name: 'a' }, { name: 'a' }],
    ['f_nested', null, undefined],
    ['f_int64', '5', '5'],
    ['w_timestamp', '1970-01-01T00:00:01Z', { seconds: '1', nanos: 0 }],
    ['w_value', null, { nullValue: 0 }],
    ['r_value', [null], [{ nullValue: 0 }]],
    ['m_int32', { '1': 'a' }, Object.assign(Object.create(null), { '1': 'a' })],
  ])('fieldFromJson(%s, %j)', (name, json, expected) => {
    expect(codec.fieldFromJson(field(name), json, DEFAULT_READ_OPTIONS, 'body')).toEqual(expected);
  });

  it('names paths below the field', () => {
    expect(codecError(() => codec.fieldFromJson(field('r_nested'), [{ count: 'x' }], DEFAULT_READ_OPTIONS, 'items')).message).toBe(
      'invalid value for items[0].count: "x" is not a 64-bit integer',
    );
    expect(codecError(() => codec.fieldFromJson(field('m_nested'), { k: [] }, DEFAULT_READ_OPTIONS, 'metadata')).field).toBe('metadata["k"]');
    expect(codecError(() => codec.fieldFromJson(field('f_int64'), 'x', DEFAULT_READ_OPTIONS, 'payment.amountMinor')).message).toBe(
      'invalid value for payment.amountMinor: "x" is not a 64-bit integer',
    );
  });

  it.each<[string, unknown, string]>([
    ['f_nested', undefined, '{}'],
    ['f_nested', { name: 'a', count: '2' }, '{"name":"a","count":"2"}'],
    ['w_timestamp', undefined, '"1970-01-01T00:00:00Z"'],
    ['w_int32', undefined, '0'],
    ['w_value', undefined, 'null'],
    ['r_int32', undefined, '[]'],
    ['r_nested', [{ count: '1' }], '[{"count":"1"}]'],
    ['m_bool', undefined, '{}'],
    ['m_bool', { true: 'a', false: 'b' }, '{"true":"a","false":"b"}'],
    ['f_int64', undefined, '"0"'],
    ['f_int64', '0', '"0"'],
    ['f_enum', undefined, '"COLOR_UNSPECIFIED"'],
    ['f_enum', 2, '"COLOR_GREEN"'],
    ['f_string', undefined, '""'],
    ['p_int32', undefined, '0'],
    ['w_null_value', undefined, 'null'],
  ])('fieldToJson(%s, %j) → %s', (name, value, expected) => {
    expect(codec.fieldToJson(field(name), value, DEFAULT_WRITE_OPTIONS)).toBe(expected);
  });
});

describe('scalarFromText / mapKeyFromText (path variables and query parameters)', () => {
  it.each<[string, string, unknown]>([
    ['f_int64', '123', '123'],
    ['f_int64', '-9223372036854775808', '-9223372036854775808'],
    ['f_uint64', '18446744073709551615', '18446744073709551615'],
    ['f_int32', '-5', -5],
    ['f_double', 'NaN', NaN],
    ['f_double', '-1.5e3', -1500],
    ['f_float', 'Infinity', Infinity],
    ['f_bool', 'true', true],
    ['f_bool', 'false', false],
    ['f_string', ' any text ', ' any text '],
    ['f_bytes', '-_8', Buffer.from([0xfb, 0xff])],
    ['f_enum', 'COLOR_RED', 1],
    ['f_enum', '2', 2],
    ['f_enum', '-1', -1],
    ['r_int64', '7', '7'],
    ['r_enum', 'COLOR_BLUE', 3],
    ['m_int32', 'value', 'value'],
    ['m_enum', 'COLOR_GREEN', 2],
    ['w_timestamp', '2017-01-15T01:30:15.01Z', { seconds: '1484443815', nanos: 10_000_000 }],
    ['w_duration', '1.5s', { seconds: '1', nanos: 500_000_000 }],
    ['w_field_mask', 'a.bC,d', { paths: ['a.b_c', 'd'] }],
    ['w_field_mask', '', { paths: [] }],
    ['w_int64', '5', { value: '5' }],
    ['w_bool', 'true', { value: true }],
    ['w_string', 'x', { value: 'x' }],
    ['w_bytes', 'AAE', { value: Buffer.from([0, 1]) }],
    ['r_int64_value', '9', { value: '9' }],
  ])('%s from %j', (name, text, expected) => {
    expect(codec.scalarFromText(field(name), text, DEFAULT_READ_OPTIONS, name)).toEqual(expected);
  });

  it.each<[string, string, string]>([
    ['f_int64', '12x', 'invalid value for q: "12x" is not a 64-bit integer'],
    ['f_bool', '1', 'invalid value for q: "1" is not "true" or "false"'],
    ['f_bool', 'TRUE', 'invalid value for q: "TRUE" is not "true" or "false"'],
    ['f_enum', 'COLOR_PURPLE', 'invalid value for q: "COLOR_PURPLE" is not a value of enum codectest.v1.Color'],
    ['f_enum', '99999999999', 'invalid value for q: "99999999999" is out of range for a 32-bit integer'],
    ['f_bytes', '!', 'invalid value for q: "!" is not valid base64'],
    ['f_nested', 'x', 'invalid value for q: a codectest.v1.Nested cannot be given as text'],
    ['w_struct', '{}', 'invalid value for q: a google.protobuf.Struct cannot be given as text'],
    ['w_any', 'x', 'invalid value for q: a google.protobuf.Any cannot be given as text'],
    ['w_timestamp', 'yesterday', 'invalid value for q: "yesterday" is not an RFC 3339 timestamp'],
    ['w_int32', 'x', 'invalid value for q: "x" is not a 32-bit integer'],
  ])('%s from %j fails', (name, text, message) => {
    expect(codecError(() => codec.scalarFromText(field(name), text, DEFAULT_READ_OPTIONS, 'q')).message).toBe(message);
  });

  it('honours caseInsensitiveEnums', () => {
    expect(codec.scalarFromText(field('f_enum'), 'color_red', { ...DEFAULT_READ_OPTIONS, caseInsensitiveEnums: true }, 'q')).toBe(1);
  });

  it.each<[string, string, string]>([
    ['m_int32', '5', '5'],
    ['m_int32', '+5', '5'],
    ['m_int32', '-05', '-5'],
    ['m_int64', '-9223372036854775808', '-9223372036854775808'],
    ['m_uint64', '18446744073709551615', '18446744073709551615'],
    ['m_bool', 'true', 'true'],
    ['m_bool', 'false', 'false'],
    ['m_string', '__proto__', '__proto__'],
    ['m_sint32', '0', '0'],
  ])('mapKeyFromText(%s, %j) → %j', (name, text, expected) => {
    expect(codec.mapKeyFromText(field(name), text, 'm')).toBe(expected);
  });

  it.each<[string, string, string]>([
    ['m_int32', 'x', 'invalid value for m[x]: map key "x" is not a 32-bit integer'],
    ['m_bool', 'yes', 'invalid value for m[x]: map key "yes" is not "true" or "false"'],
    ['m_uint64', '-1', 'invalid value for m[x]: map key "-1" is out of range for an unsigned 64-bit integer'],
    ['f_string', 'k', 'invalid value for m[x]: f_string is not a map field'],
  ])('mapKeyFromText(%s, %j) fails', (name, text, message) => {
    expect(codecError(() => codec.mapKeyFromText(field(name), text, 'm[x]')).message).toBe(message);
  });
});

describe('binary', () => {
  it('reports malformed bytes', () => {
    const err = codecError(() => codec.decode(Everything, new Uint8Array([0x0a, 0xff])));
    expect(err.field).toBe('');
    expect(err.message).toMatch(/^malformed protobuf for codectest\.v1\.Everything: /);
  });

  it('decodes int64 map keys to decimal strings and encodes bool keys faithfully', () => {
    const msg = viaBinary(read('{"mInt64":{"-1":"a"},"mUint64":{"18446744073709551615":"1"},"mBool":{"false":"f"}}'));
    expect({ ...(msg['m_int64'] as object) }).toEqual({ '-1': 'a' });
    expect(Object.keys(msg['m_uint64'] as object)).toEqual(['18446744073709551615']);
    expect({ ...(msg['m_bool'] as object) }).toEqual({ false: 'f' });
    // The decoded form encodes again to the same bytes.
    expect(Buffer.from(codec.encode(Everything, msg))).toEqual(Buffer.from(codec.encode(Everything, viaBinary(msg))));
  });
});

describe('parseJson precision feeds the readers', () => {
  it('JSON.parse would round the value; parseJson keeps it', () => {
    const text = '{"fInt64":9223372036854775807,"fUint64":18446744073709551615,"rInt64":[9007199254740993]}';
    expect(codecError(() => codec.messageFromJson(Everything, JSON.parse(text), DEFAULT_READ_OPTIONS)).field).toBe('fInt64');
    expect(read(text)).toEqual({ f_int64: '9223372036854775807', f_uint64: '18446744073709551615', r_int64: ['9007199254740993'] });
  });

  it.each([
    '{"fInt64":123456789012345,"fDouble":0.1,"fFloat":1.5,"fInt32":-7}',
    '{"fInt64":1234567890123456789,"fDouble":0.12345678901234567,"wValue":1e400}',
    '{"fInt64":"1e3","fInt32":1e2,"fDouble":-1.5E-7,"rInt64":[1,12345678901234567,"5"]}',
    '{"wStruct":{"a":12345678901234567890,"b":[0.1,1e21]},"mInt64":{"1":"x"}}',
  ])('both parse paths give the same message: %s', (text) => {
    const run = (v: unknown): string => {
      try {
        return write(codec.messageFromJson(Everything, v, DEFAULT_READ_OPTIONS));
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(run(parseJsonPrecise(text, 64))).toBe(run(parseJson(text, 64)));
    expect(run(parseJson(text, 64))).not.toMatch(/^malformed/);
  });
});

describe('a rich message round-trips JSON → binary → JSON unchanged', () => {
  it('keeps every field', () => {
    const json = {
      fDouble: 1.25, fFloat: -2.5, fInt32: -1, fInt64: '-9223372036854775808', fUint32: 4294967295,
      fUint64: '18446744073709551615', fSint32: -2147483648, fSint64: '9223372036854775807', fFixed32: 1,
      fFixed64: '2', fSfixed32: -3, fSfixed64: '-4', fBool: true, fString: 'héllo "world"', fBytes: 'AAECAw==',
      fEnum: 'COLOR_BLUE', fNested: { name: 'n', count: '1', child: { name: 'c' } },
      rInt32: [1, -1], rInt64: ['1', '-1'], rString: ['a', ''], rBytes: ['', 'AQ=='], rEnum: ['COLOR_RED', 9],
      rNested: [{ name: 'a' }, {}], rDouble: ['NaN', 'Infinity', -0, 1e-7], rBool: [false, true],
      mString: { a: 'b' }, mInt32: { '-1': 'x' }, mInt64: { '-9223372036854775808': 'min' },
      mUint64: { '0': '0', '18446744073709551615': '-9223372036854775808' }, mBool: { false: 'f', true: 't' },
      mNested: { k: { count: '2' } }, mEnum: { e: 'COLOR_GREEN' }, mSint32: { '-7': 'AQID' },
      mValue: { v: [1, { a: null }] }, oNested: { name: 'o' }, pInt32: 0, pString: 'p', pEnum: 'COLOR_UNSPECIFIED',
      customName: 'c',
      wTimestamp: '2024-02-29T23:59:59.123456789Z', wDuration: '-315576000000.000000001s', wFieldMask: 'a.bC,d',
      wStruct: { s: 'x', n: 1.5, b: false, z: null, l: [1, 'two', [3]], o: { deep: {} } }, wValue: 'v',
      wListValue: [null, true], wNullValue: null, wEmpty: {},
      wAny: { '@type': `${T}codectest.v1.Nested`, name: 'any', child: { count: '9' } },
      wDouble: 0, wFloat: 3.5, wInt64: '0', wUint64: '1', wInt32: 0, wUint32: 0, wBool: false, wString: '', wBytes: '',
      rTimestamp: ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z'],
      rAny: [{ '@type': `${T}google.protobuf.Value`, value: { k: [1] } }, {}],
      rValue: [null, 'x', { a: [] }], rInt64Value: ['-1', '0'],
    };
    const text = JSON.stringify(json).replace('"rDouble":["NaN","Infinity",0,', '"rDouble":["NaN","Infinity",-0,');
    const out = roundTrip(text);
    const expected = { ...json, wNullValue: undefined };
    delete expected.wNullValue; // NullValue holds its default, so it is omitted
    expect(JSON.parse(out)).toEqual(expected);
    expect(out).toContain('"rDouble":["NaN","Infinity",-0,1e-7]');
    // And again, from our own output.
    expect(roundTrip(out)).toBe(out);
  });
});

describe('large repeated fields convert in linear time', () => {
  it('100,000 items', () => {
    const n = 100_000;
    const text = `{"rNested":[${Array.from({ length: n }, (_, i) => `{"name":"item${i}","count":"${i}"}`).join(',')}],"rInt64":[${Array.from({ length: n }, (_, i) => i).join(',')}]}`;
    const msg = read(text);
    expect((msg['r_nested'] as unknown[]).length).toBe(n);
    const out = write(viaBinary(msg));
    expect(out.length).toBeGreaterThan(text.length);
    expect(JSON.parse(out).rNested[n - 1]).toEqual({ name: `item${n - 1}`, count: String(n - 1) });
  });
});

describe('field presence on the wire (protobuf.dev "Field Presence")', () => {
  it('drops implicit-presence defaults, at every level, and keeps explicit-presence zeros', () => {
    const msg = read(
      '{"fDouble":0,"fInt64":"0","fBool":false,"fString":"","fBytes":"","fEnum":"COLOR_UNSPECIFIED",' +
        '"fNested":{"name":""},"rNested":[{"name":""}],' +
        '"pInt32":0,"pString":"","oInt64":"0"}',
    );
    const bytes = codec.encode(Everything, msg);
    // Only the explicit-presence fields and the (empty) nested messages remain.
    const decoded = Everything.decode(bytes).toJSON();
    expect(decoded).toEqual({ f_nested: {}, r_nested: [{}], p_int32: 0, p_string: '', o_int64: '0' });
  });
  it('keeps -0, which is not the default (protobuf-go compares bits)', () => {
    const bytes = codec.encode(Everything, read('{"fDouble":-0}'));
    expect(bytes.length).toBeGreaterThan(0);
  });
});

describe('encoded bytes', () => {
  // A request's bytes live as long as its upstream call; a slice of Node's shared Buffer pool would keep the
  // pool's whole 8 KiB chunk alive with it (binary.ts MsgWriter.alloc).
  it.each([['a small message', 'n'], ['one of several KiB', 'n'.repeat(3000)]])('%s has storage of its own, not a slice of the Buffer pool', (_label, name) => {
    const bytes = codec.encode(Nested, { name, count: '3' });
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
    expect(codec.decode(Nested, bytes)).toMatchObject({ name });
  });
});
