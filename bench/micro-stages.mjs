// The request path stage by stage, in process, on the bench API (no sockets): what each step of
// src/http/pipeline.ts costs per request for GET /v1/payments/{id}?include_items=true and POST /v1/payments,
// the rest being Node's HTTP/1 server, Fastify, grpc-js and HTTP/2. Median of --rounds timed loops of --n.
// Usage: node bench/micro-stages.mjs [--n 20000] [--rounds 5]
import path from 'node:path';
import { arg, createBody, GET_ID, MAPPING_FILE, newPayment, PROTOS_DIR, REPO_DIR, loadBench } from './lib/proto.mjs';

const dist = (p) => import(path.join(REPO_DIR, 'dist', p));
const { loadConfig } = await dist('config/load.js');
const { buildSnapshot } = await dist('snapshot.js');
const { buildRequest } = await dist('transcode/request.js');
const { responseJson } = await dist('transcode/response.js');
const { metadataFromHeaders, headersFromMetadata, requestIdFrom } = await dist('upstream/metadata.js');
const { timeoutFrom } = await dist('upstream/deadline.js');

const N = Number(arg('n', '20000'));
const ROUNDS = Number(arg('rounds', '5'));
const cfg = loadConfig(['--protos', PROTOS_DIR, '--mappings', MAPPING_FILE, '--upstream', '127.0.0.1:1'], {});
const built = buildSnapshot(cfg.config);
if (!built.ok) throw new Error(JSON.stringify(built.problems));
const snap = built.snapshot;

// Response bytes as the backend sends them.
const { def } = loadBench();
const svc = def['bench.v1.PaymentService'];
const getBytes = svc.GetPayment.responseSerialize(newPayment(GET_ID, true, 'STATUS_CAPTURED'));
const postBody = createBody();
const headers = { host: '127.0.0.1:8080', accept: 'application/json', 'content-type': 'application/json', 'content-length': '550' };
const { CallMetadata } = await dist('upstream/call-metadata.js');
const respMd = CallMetadata.of([['content-type', 'application/grpc'], ['date', 'Sun, 22 Nov 2026 02:00:00 GMT']]);

function time(name, fn) {
  const xs = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) fn();
    const t = process.cpuUsage(t0);
    if (r > 0) xs.push((t.user + t.system) / N);
  }
  xs.sort((a, b) => a - b);
  return [name, xs[Math.floor(xs.length / 2)]];
}

const rows = [];
for (const [method, p, query, body] of [['GET', `/v1/payments/${GET_ID}`, 'include_items=true', undefined], ['POST', '/v1/payments', '', postBody]]) {
  const found = snap.table.matcher.lookup(method, p);
  const route = found.value;
  const msg = buildRequest(snap.codec, route, found.bindings, query, body);
  const bytes = method === 'GET' ? getBytes : svc.CreatePayment.responseSerialize({ payment: { id: 'x' } }) && getBytes;
  const decoded = snap.codec.decode(route.responseType, bytes);
  const stages = [
    time('route lookup', () => snap.table.matcher.lookup(method, p)),
    time('request id + deadline', () => (requestIdFrom(headers), timeoutFrom(headers, route.deadlineMs, 15000))),
    time('JSON/query → message', () => buildRequest(snap.codec, route, found.bindings, query, body)),
    time('message → protobuf', () => snap.codec.encode(route.requestType, msg)),
    time('headers → metadata', () => metadataFromHeaders(headers, 'rid')),
    time('protobuf → message', () => snap.codec.decode(route.responseType, bytes)),
    time('message → JSON', () => snap.codec.messageToJson(route.responseType, decoded, route.writeOptions)),
    // What the pipeline runs instead of the two stages above (transcode/response.ts): one pass, no message.
    time('bytes → JSON (one pass)', () => responseJson(snap.codec, route, bytes)),
    time('metadata → headers', () => headersFromMetadata(respMd, 'grpc-metadata-', {})),
  ];
  for (const [name, us] of stages) rows.push({ method, name, us });
}
process.stdout.write(`| stage | GET µs | POST µs |\n|---|---:|---:|\n`);
const names = [...new Set(rows.map((r) => r.name))];
for (const n of names) {
  const g = rows.find((r) => r.method === 'GET' && r.name === n).us;
  const po = rows.find((r) => r.method === 'POST' && r.name === n).us;
  process.stdout.write(`| ${n} | ${g.toFixed(2)} | ${po.toFixed(2)} |\n`);
}
// The pipeline runs either the two decode + write stages or the one-pass stage, not both.
const TWO_PASS = new Set(['protobuf → message', 'message → JSON']);
const sum = (m, skip) => rows.filter((r) => r.method === m && !skip.has(r.name)).reduce((a, r) => a + r.us, 0);
const ONE_PASS = new Set(['bytes → JSON (one pass)']);
process.stdout.write(`| **sum, two-pass response** | ${sum('GET', ONE_PASS).toFixed(2)} | ${sum('POST', ONE_PASS).toFixed(2)} |\n`);
process.stdout.write(`| **sum, one-pass response** (as the pipeline runs) | ${sum('GET', TWO_PASS).toFixed(2)} | ${sum('POST', TWO_PASS).toFixed(2)} |\n`);
