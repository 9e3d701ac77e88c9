// Benchmark: attache's proto3 JSON codec vs protobufjs's own object conversion, text ⇄ binary both ways.
//
//   npm run bench:codec        (= npm run build && node bench/codec.js)
//
// attache side:    parseJson → messageFromJson → encode      and   decode → messageToJson, or bytesToJson (one pass)
// protobufjs side: JSON.parse → fromObject → encode           and   decode → toObject → JSON.stringify
// The protobufjs side reads and writes its own plain-object JSON (proto field names, {seconds, nanos}
// timestamps), which is not the proto3 JSON mapping; it is the baseline, not an equivalent.
// Loops are bounded: a warm-up, then ROUNDS rounds of a fixed iteration count, alternating which side
// runs first; the table shows the median round, which resists noise from other processes on the machine.
import { createRequire } from 'node:module';
import { loadRegistry } from '../dist/registry/load.js';
import {
  createJsonCodec,
  parseJson,
  DEFAULT_READ_OPTIONS,
  DEFAULT_WRITE_OPTIONS,
} from '../dist/codec/index.js';

const { root } = loadRegistry(['protos']);
const codec = createJsonCodec(root);
const Payment = root.lookupType('payments.v1.Payment');
const ListPaymentsResponse = root.lookupType('payments.v1.ListPaymentsResponse');
const TO_OBJECT = { longs: String, enums: String, bytes: String };

function payment(i) {
  return {
    id: `pay_${String(100000 + i)}`,
    customerId: `cus_${String(7000 + (i % 97))}`,
    amountMinor: String(129_900 + i),
    currency: 'EUR',
    status: 'PAYMENT_STATUS_CAPTURED',
    description: 'Order #A-10023: garden furniture',
    items: [
      { sku: 'CHAIR-TEAK-01', description: 'Teak chair', quantity: 4, unitAmountMinor: '19900' },
      { sku: 'TABLE-TEAK-02', description: 'Teak table', quantity: 1, unitAmountMinor: '45900' },
      { sku: 'CUSHION-GRY-03', description: 'Grey cushion', quantity: 4, unitAmountMinor: '2900' },
    ],
    metadata: { channel: 'web', campaign: 'spring-sale', orderId: `A-${10023 + i}` },
    createdAt: '2024-03-14T09:26:53.589Z',
  };
}

const ROUNDS = 11;

/** ns per call of `fn` over `iters` calls. */
function time(fn, iters) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) fn();
  return Number(process.hrtime.bigint() - start) / iters;
}

/** Warms both functions up, then returns the median ns/op of each over ROUNDS interleaved rounds. */
function compare(ours, theirs, warm, iters) {
  for (let i = 0; i < warm; i++) {
    ours();
    theirs();
  }
  const a = [];
  const b = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      a.push(time(ours, iters));
      b.push(time(theirs, iters));
    } else {
      b.push(time(theirs, iters));
      a.push(time(ours, iters));
    }
  }
  const median = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1];
  return [median(a), median(b)];
}

function cases(name, type, jsonValue, warm, iters) {
  const attacheText = JSON.stringify(jsonValue);
  const msg = codec.messageFromJson(type, parseJson(attacheText, 64), DEFAULT_READ_OPTIONS);
  const bin = codec.encode(type, msg);
  // protobufjs's own JSON for the same message, so its fromObject sees the shape it expects.
  const pbjsText = JSON.stringify(type.toObject(type.decode(bin), TO_OBJECT));

  // Sanity: both sides produce the same bytes and the attache output round-trips.
  const pbjsBin = type.encode(type.fromObject(JSON.parse(pbjsText))).finish();
  if (Buffer.compare(Buffer.from(pbjsBin), Buffer.from(bin)) !== 0) throw new Error(`${name}: encodings differ`);
  const back = codec.messageToJson(type, codec.decode(type, bin), DEFAULT_WRITE_OPTIONS);
  if (back !== attacheText) throw new Error(`${name}: JSON round trip differs:\n${back}\n${attacheText}`);

  const rows = [];
  const jsonToBin = compare(
    () => codec.encode(type, codec.messageFromJson(type, parseJson(attacheText, 64), DEFAULT_READ_OPTIONS)),
    () => type.encode(type.fromObject(JSON.parse(pbjsText))).finish(),
    warm,
    iters,
  );
  rows.push([`${name}: JSON → binary`, ...jsonToBin]);
  const binToJson = compare(
    () => codec.messageToJson(type, codec.decode(type, bin), DEFAULT_WRITE_OPTIONS),
    () => JSON.stringify(type.toObject(type.decode(bin), TO_OBJECT)),
    warm,
    iters,
  );
  rows.push([`${name}: binary → JSON`, ...binToJson]);
  // The response path's one-pass writer (JsonCodec.bytesToJson), against the same protobufjs baseline.
  if (codec.bytesToJson(type, bin, DEFAULT_WRITE_OPTIONS) !== back) throw new Error(`${name}: one-pass output differs`);
  const binToJsonOnePass = compare(
    () => codec.bytesToJson(type, bin, DEFAULT_WRITE_OPTIONS),
    () => JSON.stringify(type.toObject(type.decode(bin), TO_OBJECT)),
    warm,
    iters,
  );
  rows.push([`${name}: binary → JSON, one pass`, ...binToJsonOnePass]);
  return { rows, bytes: bin.length, text: attacheText.length };
}

const results = [
  cases('Payment', Payment, payment(1), 20_000, 10_000),
  cases(
    'ListPaymentsResponse ×1000',
    ListPaymentsResponse,
    { payments: Array.from({ length: 1000 }, (_, i) => payment(i)), nextPageToken: 'next-page-token-0001' },
    20,
    10,
  ),
];

const fmt = (ns) => (ns >= 100_000 ? `${(ns / 1000).toFixed(0)} µs` : `${ns.toFixed(0)} ns`);
const pbjsVersion = createRequire(import.meta.url)('protobufjs/package.json').version;
console.log(`node ${process.version}, protobufjs ${pbjsVersion}; median of ${ROUNDS} rounds`);
console.log('');
console.log('| case | attache (per op) | protobufjs (per op) | ratio |');
console.log('|---|---:|---:|---:|');
for (const r of results) {
  for (const [label, ours, theirs] of r.rows) {
    console.log(`| ${label} | ${fmt(ours)} | ${fmt(theirs)} | ${(ours / theirs).toFixed(2)}× |`);
  }
}
console.log('');
for (const [i, r] of results.entries()) console.log(`case ${i + 1}: ${r.bytes} bytes binary, ${r.text} chars JSON`);
