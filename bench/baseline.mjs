// The hand-written baseline: what a user writes instead of a gateway — one Fastify route per method calling
// a grpc-js client made with @grpc/proto-loader, with the proto3 JSON details (Timestamp as RFC 3339) coded by
// hand. The peer comparison uses the same code, so both harnesses measure the same thing.
// Usage: node bench/baseline.mjs --listen 127.0.0.1:0 --upstream 127.0.0.1:PORT   (prints "listening PORT")
import Fastify from 'fastify';
import { arg, loadBench } from './lib/proto.mjs';

const upstream = arg('upstream', '127.0.0.1:50151');
const listen = arg('listen', '127.0.0.1:0');
const { grpc, PaymentService } = loadBench();
const client = new PaymentService(upstream, grpc.credentials.createInsecure());

// google.rpc.Code -> HTTP status (google/rpc/code.proto, as grpc-gateway maps it).
const HTTP_FROM_GRPC = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

function timestampToJSON(ts) {
  const secs = Number(ts.seconds || 0);
  const nanos = ts.nanos || 0;
  const base = new Date(secs * 1000).toISOString().slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  let frac = String(nanos).padStart(9, '0');
  if (nanos % 1e6 === 0) frac = frac.slice(0, 3);
  else if (nanos % 1e3 === 0) frac = frac.slice(0, 6);
  return `${base}.${frac}Z`;
}
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;
function timestampFromJSON(s) {
  const m = typeof s === 'string' ? RFC3339.exec(s) : null;
  if (!m) throw badRequest('createdAt must be an RFC 3339 timestamp');
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) throw badRequest('createdAt must be an RFC 3339 timestamp');
  return { seconds: String(Math.floor(ms / 1000)), nanos: m[2] ? Number(m[2].padEnd(9, '0')) : 0 };
}
function paymentToJSON(p) {
  if (p.createdAt) p.createdAt = timestampToJSON(p.createdAt);
  return p;
}
function paymentFromJSON(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('body must be a Payment object');
  const p = { ...body };
  if (p.createdAt !== undefined) p.createdAt = timestampFromJSON(p.createdAt);
  return p;
}
function badRequest(message) {
  const e = new Error(message);
  e.httpStatus = 400;
  e.grpcCode = 3;
  return e;
}
function unary(method, req) {
  return new Promise((resolve, reject) => client[method](req, (err, res) => (err ? reject(err) : resolve(res))));
}
function sendError(reply, err) {
  if (err.code === 13 && /serialization failure/i.test(err.details || '')) err.grpcCode = 3;
  const code = err.grpcCode ?? (typeof err.code === 'number' ? err.code : 2);
  return reply.code(err.httpStatus ?? HTTP_FROM_GRPC[code] ?? 500).send({ code, message: err.details || err.message, details: [] });
}

const app = Fastify({ logger: false });
app.get('/v1/payments/:paymentId', async (request, reply) => {
  const q = request.query;
  try {
    return paymentToJSON(
      await unary('GetPayment', {
        paymentId: request.params.paymentId,
        includeItems: q.include_items === 'true' || q.include_items === '1' || q.includeItems === 'true',
      }),
    );
  } catch (err) {
    return sendError(reply, err);
  }
});
app.post('/v1/payments', async (request, reply) => {
  try {
    return paymentToJSON(await unary('CreatePayment', { payment: paymentFromJSON(request.body) }));
  } catch (err) {
    return sendError(reply, err);
  }
});

const host = listen.slice(0, listen.lastIndexOf(':'));
const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
await app.listen({ host, port });
process.stdout.write(`listening ${app.server.address().port}\n`);
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    client.close();
    app.close().finally(() => process.exit(0));
  });
}
