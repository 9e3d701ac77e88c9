// In-process A/B of the response path on the bench Payment (GET response bytes): two passes
// (decode → messageToJson) against one pass (bytesToJson), alternating which runs first each round and timing
// CPU time (process.cpuUsage), which is steadier than wall time on a shared machine. Prints median ns per
// call of each, their interquartile ranges, and the median and IQR of the per-round ratio one/two.
// --ref DIR: instead, one pass of this build (`one`) against one pass of the build in DIR/dist (`two`), e.g.
// a checkout of the commit before a change to wire-json.ts.
// Usage: npm run build && node bench/onepass-ab.mjs [--n 20000] [--rounds 20] [--ref DIR]
import path from 'node:path';
import { arg, GET_ID, loadBench, newPayment, REPO_DIR } from './lib/proto.mjs';

const dist = (p) => import(path.join(REPO_DIR, 'dist', p));
const { loadRegistry } = await dist('registry/load.js');
const { createJsonCodec, DEFAULT_WRITE_OPTIONS } = await dist('codec/index.js');

const N = Number(arg('n', '20000'));
const ROUNDS = Number(arg('rounds', '20'));
const { root } = loadRegistry([path.join(REPO_DIR, 'bench', 'protos')]);
const codec = createJsonCodec(root);
const Payment = root.lookupType('bench.v1.Payment');
const { def } = loadBench();
const bytes = def['bench.v1.PaymentService'].GetPayment.responseSerialize(newPayment(GET_ID, true, 'STATUS_CAPTURED'));

const REF = arg('ref', '');
let twoPass = () => codec.messageToJson(Payment, codec.decode(Payment, bytes), DEFAULT_WRITE_OPTIONS);
if (REF !== '') {
  const refDist = (p) => import(path.join(path.resolve(REF), 'dist', p));
  const refRoot = (await refDist('registry/load.js')).loadRegistry([path.join(REPO_DIR, 'bench', 'protos')]).root;
  const refCodec = (await refDist('codec/index.js')).createJsonCodec(refRoot);
  const RefPayment = refRoot.lookupType('bench.v1.Payment');
  twoPass = () => refCodec.bytesToJson(RefPayment, bytes, DEFAULT_WRITE_OPTIONS);
}
const onePass = () => codec.bytesToJson(Payment, bytes, DEFAULT_WRITE_OPTIONS);
if (twoPass() !== onePass()) throw new Error('one-pass output differs from two-pass output');

/** CPU ns per call of `f` over N calls. */
function time(f) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) f();
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / N;
}
for (let i = 0; i < 3; i++) (time(twoPass), time(onePass));
const two = [];
const one = [];
for (let r = 0; r < ROUNDS; r++) {
  if (r % 2 === 0) (two.push(time(twoPass)), one.push(time(onePass)));
  else (one.push(time(onePass)), two.push(time(twoPass)));
}
const q = (xs, f) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * f)];
const fmt = (xs, d = 0) => `${q(xs, 0.5).toFixed(d)} [${q(xs, 0.25).toFixed(d)}–${q(xs, 0.75).toFixed(d)}]`;
const ratio = one.map((x, i) => x / two[i]);
console.log(`Payment GET response, ${bytes.length} bytes; ${ROUNDS} rounds of ${N}; median [IQR]`);
console.log(`${REF ? `ref one pass (${REF})          ` : 'two pass (decode + messageToJson)'}: ${fmt(two)} ns`);
console.log(`one pass (bytesToJson):            ${fmt(one)} ns`);
console.log(`ratio one/${REF ? 'ref' : 'two'}:                     ${fmt(ratio, 2)}`);
