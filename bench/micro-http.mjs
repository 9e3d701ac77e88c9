// What the Fastify layer costs on attache's data plane: ONE process serves the same pipeline
// (dist/http/pipeline.js handleRequest) twice — through the Fastify plugin (as attache does) and through a
// bare node:http handler (body read as text, the answer written with writeHead/end) — and wrk alternates
// between them in blocks (GET, c=16), so both see the same machine load. The figure is this process's CPU
// per request (process.cpuUsage over the block), median over blocks. Not a product path: a measurement.
// Usage: node bench/micro-http.mjs [--secs 3] [--blocks 4] [--c 16]
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import Fastify from 'fastify';
import { arg, BENCH_DIR, GET_PATH, MAPPING_FILE, PROTOS_DIR, REPO_DIR } from './lib/proto.mjs';

const dist = (p) => import(path.join(REPO_DIR, 'dist', p));
const { loadConfig } = await dist('config/load.js');
const { buildSnapshot } = await dist('snapshot.js');
const { handleRequest } = await dist('http/pipeline.js');
const { transcoderPlugin } = await dist('http/plugin.js');
const { createUpstreams } = await dist('upstream/channels.js');
const { createTelemetry } = await dist('telemetry/exchange.js');
const { createTracing } = await dist('telemetry/tracing.js');
const { createMetrics } = await dist('ops/metrics.js');
const { default: pino } = await import('pino');
const { requestIdFrom } = await dist('upstream/metadata.js');
const { SlotSet } = await dist('collections/slot-set.js');
const SECS = Number(arg('secs', '3'));
const BLOCKS = Number(arg('blocks', '4'));
const C = Number(arg('c', '16'));

const backend = spawn(process.execPath, [path.join(BENCH_DIR, 'backend.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const bport = await new Promise((resolve) => backend.stdout.on('data', (d) => /listening (\d+)/.test(String(d)) && resolve(/listening (\d+)/.exec(String(d))[1])));
const cfg = loadConfig(['--protos', PROTOS_DIR, '--mappings', MAPPING_FILE, '--upstream', `127.0.0.1:${bport}`], {});
const built = buildSnapshot(cfg.config);
const snapshot = built.snapshot;
// The pipeline's context as main.ts builds it: the snapshot's upstreams, default telemetry, access log at warn.
const upstreams = await createUpstreams(snapshot.upstreams, cfg.config.outbound, {});
const telemetry = createTelemetry(await createTracing(cfg.config.telemetry, '0.0.0'), createMetrics({ channels: () => upstreams.states() }), pino({ level: 'warn' }));
const ctx = { snapshot: () => snapshot, upstreams, draining: () => false, inflight: new SlotSet(), telemetry };

const app = Fastify({ logger: false, exposeHeadRoutes: false, requestIdHeader: false, genReqId: (raw) => requestIdFrom(raw.headers) });
await app.register(transcoderPlugin, { ctx, bodyLimitBytes: 4 << 20 });
await app.listen({ host: '127.0.0.1', port: 0 });

const bare = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    handleRequest(ctx, { method: req.method, url: req.url, headers: req.headers, body: body === '' ? undefined : body, requestId: requestIdFrom(req.headers), res }).then((a) => {
      a.headers['content-length'] = String(Buffer.byteLength(a.body));
      res.writeHead(a.status, a.headers);
      res.end(a.body);
    });
  });
});
await new Promise((r) => bare.listen(0, '127.0.0.1', r));

function wrk(port) {
  return new Promise((resolve) => {
    const w = spawn('wrk', ['-t1', `-c${C}`, `-d${SECS}s`, '-s', path.join(BENCH_DIR, 'lib', 'wrk.lua'), `http://127.0.0.1:${port}${GET_PATH}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    w.stdout.on('data', (d) => (out += d));
    w.on('close', () => resolve(JSON.parse(/BENCHJSON (\{.*\})/.exec(out)[1])));
  });
}
async function block(port) {
  const c0 = process.cpuUsage();
  const r = await wrk(port);
  const c = process.cpuUsage(c0);
  return { us: (c.user + c.system) / r.requests, rps: r.rps };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fp = app.server.address().port;
const bp = bare.address().port;
await block(fp);
await block(bp);
const f = [];
const b = [];
for (let i = 0; i < BLOCKS; i++) {
  f.push(await block(fp));
  b.push(await block(bp));
}
const mf = median(f.map((x) => x.us));
const mb = median(b.map((x) => x.us));
process.stdout.write(
  `GET c=${C}, ${BLOCKS} blocks × ${SECS} s each, CPU µs/request of the serving process (median):\n` +
    `  Fastify plugin:    ${mf.toFixed(0)} µs  (${median(f.map((x) => x.rps)).toFixed(0)} req/s)\n` +
    `  bare node:http:    ${mb.toFixed(0)} µs  (${median(b.map((x) => x.rps)).toFixed(0)} req/s)\n` +
    `  bare/Fastify: ${(mb / mf).toFixed(3)} (per block pair ${Math.min(...b.map((x, i) => x.us / f[i].us)).toFixed(2)}–${Math.max(...b.map((x, i) => x.us / f[i].us)).toFixed(2)})\n`,
);
await app.close();
bare.close();
ctx.upstreams.close();
backend.kill('SIGTERM');
