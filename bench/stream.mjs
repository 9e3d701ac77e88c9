// The streaming scenario of `npm run bench`: one server stream of realistic messages (the bench Payment with
// three items, ~290 bytes of protobuf, ~560 bytes of JSON), read to the end
// - through attache, as NDJSON over HTTP/1.1 (GET /v1/payments:stream?count=N), by a client that only
//   counts lines (in this process; attache and the backend are child processes), and
// - directly by a grpc-js client (proto-loader objects, as a Node app calling gRPC itself would read it),
// against the same bench/backend.mjs. Figures: messages/s and MiB/s (of the body each client receives), the
// ratio attache/direct, attache's CPU per message, and attache's RSS sampled every 100 ms over the stream
// (start, max, end), which must stay flat however long the stream runs: flow control bounds what waits.
//
// Each subject runs --rounds times alternately (order rotating); the figure is the median.
// Bounded: --count messages (default 1,000,000) per run, each run killed after --timeout s (default 120).
// Options: --count N --rounds R (3) --transport auto|grpc-js (attache's upstream transport)
//          --attache-args "..." (appended to attache's flags) --attache-node-args "..." (e.g. --cpu-prof) --out FILE
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startAttache, startBackend, stopAll } from './lib/processes.mjs';
import { arg, cpuSeconds, loadBench, memMiB, REPO_DIR } from './lib/proto.mjs';

const COUNT = Number(arg('count', '1000000'));
const ROUNDS = Number(arg('rounds', '3'));
const TIMEOUT_S = Number(arg('timeout', '120'));
const TRANSPORT = arg('transport', 'auto');
const ATTACHE_ARGS = arg('attache-args', '').split(' ').filter(Boolean);
const ATTACHE_NODE_ARGS = arg('attache-node-args', '').split(' ').filter(Boolean);
const OUT = arg('out', path.join(REPO_DIR, '.bench-out', `stream-${new Date().toISOString().replace(/[:.]/g, '-')}.md`));
if (!(COUNT >= 1 && COUNT <= 10_000_000)) throw new Error('--count must be in 1..10,000,000');
if (!(ROUNDS >= 1 && ROUNDS <= 9)) throw new Error('--rounds must be in 1..9');

const log = (s) => process.stderr.write(`${s}\n`);
const MiB = 2 ** 20;

/** Reads the NDJSON stream through attache, counting lines; samples attache's RSS meanwhile. */
async function viaAttache(attache) {
  const rss = [];
  const sample = setInterval(() => rss.push(memMiB(attache.pid, 'VmRSS')), 100);
  const cpu0 = cpuSeconds(attache.pid);
  const t0 = process.hrtime.bigint();
  let lines = 0;
  let bytes = 0;
  let last = '';
  try {
    await new Promise((resolve, reject) => {
      const req = http.get(`${attache.url}/v1/payments:stream?count=${COUNT}`, { headers: { 'x-request-timeout': `${TIMEOUT_S}s` } }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`attache answered ${res.statusCode}`));
        res.on('data', (c) => {
          bytes += c.length;
          for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
          last = c;
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.setTimeout(TIMEOUT_S * 1000, () => req.destroy(new Error('timed out')));
      req.on('error', reject);
    });
  } finally {
    clearInterval(sample);
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const tail = last.toString().trim().split('\n').pop();
  if (lines !== COUNT || !tail.startsWith('{"result":')) throw new Error(`attache: ${lines} lines, last ${tail.slice(0, 200)}`);
  const cpu = cpuSeconds(attache.pid) - cpu0;
  return { msgs: lines, secs, bytes, cpuUsPerMsg: (cpu / lines) * 1e6, rssStart: rss[0], rssMax: Math.max(...rss), rssEnd: rss[rss.length - 1] };
}

/** Reads the same stream with a grpc-js client (proto-loader objects). */
async function direct(target) {
  const { grpc, PaymentService } = loadBench();
  const client = new PaymentService(target, grpc.credentials.createInsecure(), { 'grpc.enable_channelz': 0 });
  const serialize = PaymentService.service.StreamPayments.responseSerialize;
  const t0 = process.hrtime.bigint();
  let msgs = 0;
  let size = 0;
  const call = client.StreamPayments({ count: COUNT }, { deadline: Date.now() + TIMEOUT_S * 1000 });
  call.on('data', (p) => {
    if (msgs++ === 0) size = serialize(p).length;
  });
  await once(call, 'end');
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  client.close();
  if (msgs !== COUNT) throw new Error(`direct: ${msgs} messages`);
  return { msgs, secs, bytes: msgs * (size + 5) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f0 = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);

async function main() {
  const backend = await startBackend();
  const attache = await startAttache({ upstream: backend.target, nodeArgs: ATTACHE_NODE_ARGS, extraArgs: [...(TRANSPORT === 'grpc-js' ? ['--upstream-transport', 'grpc-js'] : []), ...ATTACHE_ARGS] });
  const runs = { attache: [], direct: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['attache', 'direct'] : ['direct', 'attache'];
    for (const s of order) {
      const r = s === 'attache' ? await viaAttache(attache) : await direct(backend.target);
      runs[s].push(r);
      const extra = s === 'attache' ? `, CPU ${f1(r.cpuUsPerMsg)} µs/msg, RSS ${f1(r.rssStart)} → max ${f1(r.rssMax)} → ${f1(r.rssEnd)} MiB` : '';
      log(`round ${round + 1} ${s}: ${f0(r.msgs / r.secs)} msg/s, ${f1(r.bytes / MiB / r.secs)} MiB/s${extra}`);
    }
  }
  const rate = (s) => median(runs[s].map((r) => r.msgs / r.secs));
  const mibs = (s) => median(runs[s].map((r) => r.bytes / MiB / r.secs));
  const ratios = runs.attache.map((r, i) => (r.msgs / r.secs) / (runs.direct[i].msgs / runs.direct[i].secs));
  const a = runs.attache;
  const lines = [
    `# attache streaming bench — ${new Date().toISOString()}`,
    '',
    `Command: \`node bench/stream.mjs ${process.argv.slice(2).join(' ')}\` — ${COUNT} messages per run, ${ROUNDS} round(s), attache upstream transport ${TRANSPORT}`,
    '',
    '| subject | msg/s (median) | MiB/s | CPU µs/msg | RSS start → max → end MiB |',
    '|---|---:|---:|---:|---|',
    `| attache (NDJSON over HTTP/1.1) | ${f0(rate('attache'))} | ${f1(mibs('attache'))} | ${f1(median(a.map((r) => r.cpuUsPerMsg)))} | ${a.map((r) => `${f1(r.rssStart)} → ${f1(r.rssMax)} → ${f1(r.rssEnd)}`).join('; ')} |`,
    `| direct grpc-js client | ${f0(rate('direct'))} | ${f1(mibs('direct'))} | | |`,
    '',
    `attache/direct message rate: ${median(ratios).toFixed(2)}× (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')})`,
  ];
  const report = `${lines.join('\n')}\n`;
  process.stdout.write(report);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, report);
  log(`written to ${OUT}`);
}

main().then(stopAll, async (err) => {
  log(`bench: ${err.stack ?? err}`);
  await stopAll();
  process.exitCode = 1;
});
