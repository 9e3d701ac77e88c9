// The floor: a grpc-js client (proto-loader objects, as a Node app calling gRPC itself would use) keeping
// N calls in flight on one channel, no HTTP hop. Bounded by --duration (s) and --max (calls). Prints one
// line `BENCHJSON {...}` with req/s, p50/p99 (ms), its own CPU seconds and peak RSS (it is the subject).
// Usage: node bench/direct.mjs --target 127.0.0.1:PORT --method get|post -c 16 --duration 5 --warmup 1
import fs from 'node:fs';
import { arg, createBody, GET_ID, loadBench } from './lib/proto.mjs';

const target = arg('target', '127.0.0.1:50151');
const method = arg('method', 'get');
const conc = Number(arg('c', '16'));
const durationS = Number(arg('duration', '5'));
const warmupS = Number(arg('warmup', '1'));
const maxN = Number(arg('max', '2000000'));
const { grpc, PaymentService } = loadBench();
const client = new PaymentService(target, grpc.credentials.createInsecure(), { 'grpc.enable_channelz': 0 });
const posted = JSON.parse(createBody());
posted.createdAt = { seconds: '1715937704', nanos: 123000000 };

function once() {
  return new Promise((resolve, reject) => {
    const cb = (err, res) => (err ? reject(err) : resolve(res));
    const deadline = Date.now() + 5000;
    if (method === 'get') client.GetPayment({ paymentId: GET_ID, includeItems: true }, { deadline }, cb);
    else client.CreatePayment({ payment: posted }, { deadline }, cb);
  });
}

async function phase(seconds, record) {
  const lat = record ? new Float64Array(maxN) : null;
  let started = 0;
  let done = 0;
  let errors = 0;
  let stop = false;
  const timer = setTimeout(() => (stop = true), seconds * 1000);
  const t0 = process.hrtime.bigint();
  async function worker() {
    while (!stop && started < maxN) {
      started++;
      const s = process.hrtime.bigint();
      try {
        await once();
        if (record) lat[done] = Number(process.hrtime.bigint() - s) / 1e6;
        done++;
      } catch {
        errors++;
      }
    }
  }
  await Promise.all(Array.from({ length: conc }, worker));
  clearTimeout(timer);
  return { lat: record ? lat.subarray(0, done).sort() : null, done, errors, elapsedS: Number(process.hrtime.bigint() - t0) / 1e9 };
}
const pct = (s, p) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.max(0, Math.round((s.length * p) / 100) - 1))]);

await once();
if (warmupS > 0) await phase(warmupS, false);
const cpu0 = process.cpuUsage();
const r = await phase(durationS, true);
const cpu = process.cpuUsage(cpu0);
const hwm = /VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
process.stdout.write(
  `BENCHJSON ${JSON.stringify({
    requests: r.done,
    errors: r.errors,
    duration_s: r.elapsedS,
    rps: r.done / r.elapsedS,
    p50_ms: pct(r.lat, 50),
    p99_ms: pct(r.lat, 99),
    cpu_s: (cpu.user + cpu.system) / 1e6,
    peak_rss_mib: hwm ? Number(hwm[1]) / 1024 : 0,
  })}\n`,
);
client.close();
process.exit(r.errors > 0 ? 3 : 0);
