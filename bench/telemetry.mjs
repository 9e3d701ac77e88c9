// The cost of tracing: the same bounded load against attache (built in dist/) in front of the demo gRPC
// backend, with tracing off (OTEL_SDK_DISABLED), with propagation only (the default: no exporter), and with
// the OTLP exporter (http/protobuf) sending to a collector stub on loopback. Each mode runs in its own
// process, in turn, for `--rounds` rounds; every request carries a sampled `traceparent`.
//
//   npm run build && node bench/telemetry.mjs [--requests 20000] [--concurrency 16] [--rounds 2]
//
// Prints one row per mode and round: req/s, p50/p99 latency, CPU per request of the whole process (client,
// attache and backend share it, so compare the modes with each other, not with other benchmarks) and, for
// the exporter mode, the spans the stub received.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODES = {
  off: { OTEL_SDK_DISABLED: 'true' },
  propagation: {},
  exporter: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' },
};

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const REQUESTS = Number(arg('requests', '20000'));
const CONCURRENCY = Number(arg('concurrency', '16'));
const ROUNDS = Number(arg('rounds', '2'));
const TIME_LIMIT_MS = 60_000;

/** A collector stub: accepts OTLP/HTTP export requests, counts them and their bytes, answers 200. */
function startCollector() {
  const stats = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (c) => (n += c.length));
    req.on('end', () => {
      stats.requests += 1;
      stats.bytes += n;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, stats, port: server.address().port })));
}

function get(agent, port, i) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const traceId = (BigInt(i) + 1n).toString(16).padStart(32, '0');
    const req = http.get(
      { host: '127.0.0.1', port, path: '/api/payments/pay_001', agent, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
  });
}

async function load(port, count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies = [];
  let next = 0;
  const deadline = Date.now() + TIME_LIMIT_MS;
  const worker = async () => {
    while (next < count && Date.now() < deadline) latencies.push(await get(agent, port, next++));
  };
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  return { n: latencies.length, rps: latencies.length / seconds, p50: pct(0.5), p99: pct(0.99), cpuUsPerReq: (cpu.user + cpu.system) / latencies.length };
}

/** One mode in this process. */
async function child(mode) {
  const collector = mode === 'exporter' ? await startCollector() : undefined;
  if (collector) process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${collector.port}`;
  const { loadConfig } = await import(path.join(ROOT, 'dist/config/load.js'));
  const { start } = await import(path.join(ROOT, 'dist/main.js'));
  const { startDemoBackend } = await import(path.join(ROOT, 'dist/demo/backend.js'));
  const { pino } = await import('pino');
  const backend = await startDemoBackend({ protosDir: path.join(ROOT, 'protos'), host: '127.0.0.1', port: 0 });
  const loaded = loadConfig(
    ['--protos', path.join(ROOT, 'protos'), '--mappings', path.join(ROOT, 'mappings'), '--upstream', backend.target, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'],
    MODES[mode],
  );
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  // Access-log lines are written as in production (info), to /dev/null, so their cost is in every mode.
  const running = await start(loaded.config, pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false })));
  await load(running.port, Math.min(2000, REQUESTS)); // warm-up
  const r = await load(running.port, REQUESTS);
  await running.stop();
  await backend.close();
  if (collector) {
    r.exportRequests = collector.stats.requests;
    r.exportKiB = Math.round(collector.stats.bytes / 1024);
    collector.server.close();
  }
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

async function parent() {
  console.log(`attache telemetry cost: ${REQUESTS} GET /api/payments/pay_001 at concurrency ${CONCURRENCY}, ${ROUNDS} round(s), node ${process.version}`);
  console.log('mode          round   req/s   p50 ms   p99 ms   CPU µs/req   export');
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of Object.keys(MODES)) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, '--requests', String(REQUESTS), '--concurrency', String(CONCURRENCY)], {
        encoding: 'utf8',
        timeout: 3 * TIME_LIMIT_MS,
        cwd: ROOT,
      });
      const r = JSON.parse(out.trim().split('\n').at(-1));
      const exp = r.exportRequests === undefined ? '' : `${r.exportRequests} posts, ${r.exportKiB} KiB`;
      console.log(
        `${mode.padEnd(13)} ${String(round).padStart(5)} ${r.rps.toFixed(0).padStart(7)} ${r.p50.toFixed(3).padStart(8)} ${r.p99.toFixed(3).padStart(8)} ${r.cpuUsPerReq.toFixed(0).padStart(12)}   ${exp}`,
      );
    }
  }
}

const childMode = arg('child', undefined);
await (childMode ? child(childMode) : parent());
