import { it } from 'vitest';
import { loadRegistry } from '../registry/load.js';
import { createJsonCodec, parseJson, DEFAULT_READ_OPTIONS as R, DEFAULT_WRITE_OPTIONS as W } from './index.js';
it('smoke', () => {
  const { root } = loadRegistry(['test/fixtures/codec']);
  const c = createJsonCodec(root);
  const E = root.lookupType('codectest.v1.Everything');
  const json = `{"fInt64":"-9223372036854775808","fUint64":18446744073709551615,"fFloat":0.1,"fDouble":"NaN","fBytes":"aGk","fEnum":"COLOR_RED",
   "rNested":[{"name":"a","count":3}],"mInt64":{"-5":"x","12":"y"},"mBool":{"true":"t","false":"f"},"oNested":{"name":"z"},"pInt32":0,
   "customName":"r","wTimestamp":"2024-02-29T12:00:00.123+01:00","wDuration":"-1.5s","wFieldMask":"a.fooBar,b","wStruct":{"a":[1,"x",null,true,{"b":{}}]},
   "wValue":null,"wAny":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"2s"},"rAny":[{"@type":"type.googleapis.com/codectest.v1.Nested","name":"n","count":"7"}],
   "wInt64":"5","wBytes":"AAE=","wEmpty":{},"rValue":[null,1],"mValue":{"k":null}, "mUint64": {"18446744073709551615": "-1"}}`;
  const m = c.messageFromJson(E, parseJson(json, 64), R);
  console.log(m);
  const bin = c.encode(E, m);
  const d = c.decode(E, bin);
  console.log(c.messageToJson(E, d, W));
  console.log(c.messageToJson(E, m, W));
  console.log(c.messageToJson(E, {}, { ...W, emitUnpopulated: true }));
});
