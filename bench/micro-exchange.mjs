// CPU per request of the request path's bookkeeping around the codec and the call, in process, with no
// sockets: the request id, the deadline, headers → metadata, the telemetry of one exchange (begin → routed
// → startUpstream → endUpstream → end: spans in the default propagation-only mode, the metrics observations,
// the access-log line written through pino's synchronous destination to /dev/null) and metadata → headers.
// A/B: every build given (--dist, --ref) runs the same loop in alternating blocks in this one process; the
// figure is ns of CPU per request (process.cpuUsage over a block of --n requests, all threads),
// median over blocks and the per-pair ratio range. Not a product path: a measurement.
// Usage: node bench/micro-exchange.mjs [--dist DIR] [--ref DIR] [--n 50000] [--blocks 8] [--log-level info]
//                                      [--tracing propagation|off]
import path from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import fs from 'node:fs';
import { pino } from 'pino';
import { arg, GET_PATH, MAPPING_FILE, PROTOS_DIR, REPO_DIR } from './lib/proto.mjs';

const N = Number(arg('n', '50000'));
const BLOCKS = Number(arg('blocks', '8'));
const LOG_LEVEL = arg('log-level', 'info');
const TRACING = arg('tracing', 'propagation');
const DISTS = [path.resolve(arg('dist', path.join(REPO_DIR, 'dist')))];
if (arg('ref', '') !== '') DISTS.push(path.resolve(arg('ref', '')));
if (!(N >= 1000 && N <= 1e7 && BLOCKS >= 1 && BLOCKS <= 50)) throw new Error('bad --n/--blocks');

/** Request headers as wrk/curl send them, plus a typical client's. */
const HEADERS = { host: '127.0.0.1:8080', 'user-agent': 'bench', accept: 'application/json', 'accept-encoding': 'gzip', connection: 'keep-alive' };

/** pino's default destination (synchronous sonic-boom, as main.ts's createLogger uses on stdout), on /dev/null. */
const destinationOf = () => pino.destination({ dest: fs.openSync('/dev/null', 'w'), sync: true });

async function setUp(dist) {
  const imp = (p) => import(path.join(dist, p));
  const { loadConfig } = await imp('config/load.js');
  const { buildSnapshot } = await imp('snapshot.js');
  const { createMetrics } = await imp('ops/metrics.js');
  const logging = await imp('telemetry/logging.js');
  const { createTracing } = await imp('telemetry/tracing.js');
  const ex = await imp('telemetry/exchange.js');
  const md = await imp('upstream/metadata.js');
  const { timeoutFrom } = await imp('upstream/deadline.js');
  const { GRPC_METADATA_PREFIX, GRPC_TRAILER_PREFIX } = await imp('upstream/headers.js');
  const env = TRACING === 'off' ? { OTEL_SDK_DISABLED: 'true' } : {};
  const loaded = loadConfig(['--protos', PROTOS_DIR, '--mappings', MAPPING_FILE, '--upstream', '127.0.0.1:1', '--log-level', LOG_LEVEL], env);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const built = buildSnapshot(loaded.config);
  if (!built.ok) throw new Error('snapshot');
  const snap = built.snapshot;
  const tracing = await createTracing(loaded.config.telemetry, 'bench');
  const metrics = createMetrics({ channels: () => [], processMetrics: false });
  const logger = pino(logging.loggerOptions(loaded.config), destinationOf());
  const t = ex.createTelemetry(tracing, metrics, logger, undefined);
  const found = snap.table.matcher.lookup('GET', GET_PATH.split('?')[0]);
  if (found.kind !== 'match') throw new Error('no route');
  const route = found.value;
  // What grpc-js hands back for a plain unary answer: response headers, then trailers with the status; in
  // the build's own metadata type (attache's CallMetadata since §0.7.3, grpc-js Metadata before).
  const HEADER_ENTRIES = [['content-type', 'application/grpc+proto'], ['grpc-accept-encoding', 'identity,deflate,gzip'], ['date', 'Sun, 22 Nov 2026 02:00:00 GMT']];
  let respHeaders;
  let trailers;
  try {
    const { CallMetadata } = await imp('upstream/call-metadata.js');
    respHeaders = CallMetadata.of(HEADER_ENTRIES);
    trailers = CallMetadata.EMPTY;
  } catch {
    respHeaders = new Metadata();
    for (const [k, v] of HEADER_ENTRIES) respHeaders.set(k, v);
    trailers = new Metadata();
  }
  const answer = { status: 200, body: '{"id":"pay_01HZX3K9Q7V2M4N8R6T0W5Y1AB","amountMinor":"24597","currency":"EUR"}', code: 0 };
  const one = () => {
    const requestId = md.requestIdFrom(HEADERS);
    const req = { method: 'GET', url: GET_PATH, headers: HEADERS, requestId, body: undefined };
    const e = ex.beginExchange(t, req);
    ex.exchangeRouted(t, e, route);
    const ms = timeoutFrom(HEADERS, route.deadlineMs, snap.config.defaultDeadlineMs);
    const m = md.metadataFromHeaders(HEADERS, requestId);
    const up = ex.startUpstream(t, e, m);
    ex.endUpstream(t, e, up, { code: 0, details: undefined, headers: respHeaders, trailers });
    const out = {};
    md.headersFromMetadata(respHeaders, GRPC_METADATA_PREFIX, out);
    md.headersFromMetadata(trailers, GRPC_TRAILER_PREFIX, out);
    out['content-type'] = 'application/json';
    out['x-request-id'] = requestId;
    ex.endExchange(t, e, answer);
    return ms;
  };
  return {
    dist,
    // Yields to the event loop every 16 requests (as c=16 would), so an asynchronous log destination
    // writes as it would under load; CPU of all threads (process.cpuUsage) counts those writes too.
    async run() {
      const c0 = process.cpuUsage();
      let sink = 0;
      for (let i = 0; i < N; i++) {
        sink += one();
        if ((i & 15) === 15) await new Promise(setImmediate);
      }
      const c = process.cpuUsage(c0);
      if (sink === 0) throw new Error('unreachable');
      return ((c.user + c.system) * 1000) / N;
    },
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const subjects = [];
for (const d of DISTS) subjects.push(await setUp(d));
for (const s of subjects) await s.run(); // warm-up
const res = subjects.map(() => []);
for (let i = 0; i < BLOCKS; i++) {
  const order = i % 2 === 0 ? subjects.map((_, j) => j) : subjects.map((_, j) => subjects.length - 1 - j);
  for (const j of order) res[j].push(await subjects[j].run());
}
let text = `exchange bookkeeping (tracing ${TRACING}, log-level ${LOG_LEVEL}), ${BLOCKS} blocks × ${N}, ns/request (median [min–max]):\n`;
subjects.forEach((s, j) => {
  text += `  ${path.relative(REPO_DIR, s.dist) || s.dist}: ${median(res[j]).toFixed(0)} ns [${Math.min(...res[j]).toFixed(0)}–${Math.max(...res[j]).toFixed(0)}]\n`;
});
if (subjects.length === 2) {
  const r = res[0].map((x, i) => x / res[1][i]);
  text += `  ratio ${path.relative(REPO_DIR, subjects[0].dist)}/${path.relative(REPO_DIR, subjects[1].dist)}: median ${median(r).toFixed(3)} (per pair ${Math.min(...r).toFixed(3)}–${Math.max(...r).toFixed(3)})\n`;
}
process.stdout.write(text);
