// The benchmark's gRPC backend (grpc-js). It must not be the bottleneck, so it never builds objects:
// the GetPayment answer is encoded once per id (tiny LRU-free cache, bounded), and CreatePayment echoes the
// posted Payment's bytes with the id field prepended (protobuf allows fields in any order; a later id in the
// bytes would win, and the fixture has none). Ids starting with "missing" answer NOT_FOUND.
// Usage: node bench/backend.mjs --listen 127.0.0.1:0 [--delay-ms N]   (prints "listening PORT")
// --delay-ms holds every GetPayment answer N ms (bench/inflight-memory.mjs: requests kept in flight).
import { arg, CREATED_ID, loadBench, MISSING_PREFIX, newPayment, readVarint } from './lib/proto.mjs';

const { grpc, def } = loadBench();

// Wire helpers: GetPaymentRequest is { 1: string payment_id, 2: bool include_items }.
function parseGetRequest(buf) {
  const pos = { i: 0 };
  let id = '';
  let items = false;
  while (pos.i < buf.length) {
    const tag = readVarint(buf, pos);
    if (tag === 0x0a) {
      const n = readVarint(buf, pos);
      id = buf.toString('utf8', pos.i, pos.i + n);
      pos.i += n;
    } else if (tag === 0x10) items = readVarint(buf, pos) !== 0;
    else throw new Error(`unexpected tag ${tag}`);
  }
  return { id, items };
}

const svc = def['bench.v1.PaymentService'];
const Payment = svc.GetPayment.responseSerialize;
const cache = new Map();
const identity = (b) => b;

const DELAY_MS = Number(arg('delay-ms', '0'));
if (!(Number.isInteger(DELAY_MS) && DELAY_MS >= 0 && DELAY_MS <= 60_000)) throw new Error('--delay-ms must be an integer in 0..60000');

const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
server.addService(
  {
    GetPayment: { ...svc.GetPayment, requestDeserialize: identity, responseSerialize: identity },
    CreatePayment: { ...svc.CreatePayment, requestDeserialize: identity, responseSerialize: identity },
    StreamPayments: { ...svc.StreamPayments, requestDeserialize: identity, responseSerialize: identity },
  },
  {
    GetPayment(call, cb) {
      const { id, items } = parseGetRequest(call.request);
      if (id === '') return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'payment_id is required' });
      if (id.startsWith(MISSING_PREFIX)) return cb({ code: grpc.status.NOT_FOUND, details: `payment "${id}" not found` });
      const key = `${items ? 1 : 0}${id}`;
      let bytes = cache.get(key);
      if (bytes === undefined) {
        bytes = Payment(newPayment(id, items, 'STATUS_CAPTURED'));
        if (cache.size < 1000) cache.set(key, bytes);
      }
      if (DELAY_MS > 0) setTimeout(cb, DELAY_MS, null, bytes);
      else cb(null, bytes);
    },
    // StreamPaymentsRequest { 1: int32 count }: `count` copies of the GetPayment answer (with items), written
    // as fast as flow control lets them go (a write that returns false waits for 'drain').
    StreamPayments(call) {
      const pos = { i: 0 };
      let count = 0;
      while (pos.i < call.request.length) {
        const tag = readVarint(call.request, pos);
        if (tag === 0x08) count = readVarint(call.request, pos);
        else throw new Error(`unexpected tag ${tag}`);
      }
      const bytes = Payment(newPayment('pay_stream', true, 'STATUS_CAPTURED'));
      let i = 0;
      const pump = () => {
        while (i < count && !call.cancelled) {
          i++;
          if (!call.write(bytes)) return; // 'drain' resumes
        }
        call.removeListener('drain', pump);
        if (!call.cancelled) call.end();
      };
      call.on('drain', pump);
      pump();
    },
    CreatePayment(call, cb) {
      // CreatePaymentRequest { 1: Payment payment }: take the embedded bytes, prepend id = CREATED_ID.
      const buf = call.request;
      const pos = { i: 0 };
      let payment;
      while (pos.i < buf.length) {
        const tag = readVarint(buf, pos);
        const n = readVarint(buf, pos);
        if (tag === 0x0a) payment = buf.subarray(pos.i, pos.i + n);
        pos.i += n;
      }
      if (payment === undefined) return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'payment is required' });
      const idField = Buffer.from([0x0a, CREATED_ID.length, ...Buffer.from(CREATED_ID)]);
      cb(null, Buffer.concat([idField, payment]));
    },
  },
);
server.bindAsync(arg('listen', '127.0.0.1:0'), grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`backend: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.tryShutdown(() => process.exit(0)));
