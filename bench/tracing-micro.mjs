// The per-request CPU cost of propagation only (no exporter), without HTTP or gRPC around it: extract a
// traceparent, start the server and client spans, inject W3C + baggage + B3 multi into the call's metadata.
//   npm run build && node bench/tracing-micro.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { createTracing, extractContext, injectContext } = await import(path.join(ROOT, 'dist/telemetry/tracing.js'));
const { loadConfig } = await import(path.join(ROOT, 'dist/config/load.js'));
const { trace, SpanKind } = await import('@opentelemetry/api');
const { CallMetadata } = await import(path.join(ROOT, 'dist/upstream/call-metadata.js'));
const cfg = loadConfig([], {}).config;
const t = await createTracing(cfg.telemetry, '0');
const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', host: 'x', accept: '*/*' };
const MD = CallMetadata.of([['x-request-id', 'rid'], ['traceparent', headers.traceparent]]);
function once() {
  const parent = extractContext(t, headers);
  const s = t.tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: { a: 'GET', b: '/x', c: 'rid' } }, parent);
  const ctx = trace.setSpan(parent, s);
  s.updateName('GET /x/{id}'); s.setAttribute('http.route', '/x/{id}');
  const c = t.tracer.startSpan('svc/M', { kind: SpanKind.CLIENT, attributes: { a: 'grpc', b: 's', c: 'm', d: 'u' } }, ctx);
  injectContext(t, trace.setSpan(ctx, c), MD);
  c.setAttribute('x', 0); c.end(); s.setAttribute('y', 200); s.end();
}
for (let i = 0; i < 20000; i++) once();
const N = 200000; const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) once();
console.log('µs per request (extract + 2 spans + inject):', (Number(process.hrtime.bigint() - t0) / 1e3 / N).toFixed(2));
