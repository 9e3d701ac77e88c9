// A/B of the upstream call alone (src/upstream/call.ts) in one process, against bench/backend.mjs:
// `client.makeUnaryRequest` (the first cut) vs `callUnary` on `Channel.createCall` (dist/upstream/call.js).
// Blocks of --block calls with --c in flight alternate A, B, A, B… (--blocks each), so both see the same
// machine load; the figure is this process's CPU per call (process.cpuUsage), median over blocks.
// Usage: node bench/micro-call.mjs [--c 16] [--block 3000] [--blocks 8]
import { spawn } from 'node:child_process';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { arg, BENCH_DIR, GET_ID, REPO_DIR } from './lib/proto.mjs';

const { callUnary } = await import(path.join(REPO_DIR, 'dist', 'upstream', 'call.js'));
const C = Number(arg('c', '16'));
const BLOCK = Number(arg('block', '3000'));
const BLOCKS = Number(arg('blocks', '8'));

// The first cut of call.ts (makeUnaryRequest + 'metadata'/'status' events), kept here as the reference.
const identity = (b) => b;
function callUnaryClient(client, p, request, metadata, timeoutMs) {
  let response;
  let error;
  let headers;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const call = client.makeUnaryRequest(p, identity, identity, request, metadata, { deadline: Date.now() + timeoutMs }, (err, value) => {
    error = err ?? undefined;
    response = value;
  });
  call.on('metadata', (md) => (headers = md));
  call.on('status', (status) => resolve({ response, error, headers, trailers: status.metadata }));
  return { cancel: () => call.cancel(), done };
}

const backend = spawn(process.execPath, [path.join(BENCH_DIR, 'backend.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve) => backend.stdout.on('data', (d) => /listening (\d+)/.test(String(d)) && resolve(Number(/listening (\d+)/.exec(String(d))[1]))));
// A grpc-js client as attache's grpc-js wire makes it (no channelz, its own subchannel pool).
const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.enable_channelz': 0, 'grpc.use_local_subchannel_pool': 1 });
// GetPaymentRequest { payment_id: GET_ID, include_items: true }
const req = Buffer.concat([Buffer.from([0x0a, GET_ID.length]), Buffer.from(GET_ID), Buffer.from([0x10, 1])]);

async function block(fn) {
  let left = BLOCK;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (left-- > 0) {
        const md = new grpc.Metadata();
        md.set('x-request-id', 'bench');
        const o = await fn(client, '/bench.v1.PaymentService/GetPayment', req, md, 15000).done;
        if (o.response === undefined) throw new Error(`call failed: ${o.error?.details}`);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / BLOCK, wallUs: ((performance.now() - t0) * 1000) / BLOCK };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
await block(callUnary);
await block(callUnaryClient);
const a = [];
const b = [];
for (let i = 0; i < BLOCKS; i++) {
  a.push(await block(callUnaryClient));
  b.push(await block(callUnary));
}
const ra = median(a.map((x) => x.cpuUs));
const rb = median(b.map((x) => x.cpuUs));
const ratios = a.map((x, i) => b[i].cpuUs / x.cpuUs);
process.stdout.write(
  `upstream call, c=${C}, ${BLOCKS}×${BLOCK} calls each, CPU µs/call (median of blocks):\n` +
    `  makeUnaryRequest (before): ${ra.toFixed(1)}   wall µs/call ${median(a.map((x) => x.wallUs)).toFixed(1)}\n` +
    `  Channel.createCall (after): ${rb.toFixed(1)}   wall µs/call ${median(b.map((x) => x.wallUs)).toFixed(1)}\n` +
    `  after/before: ${(rb / ra).toFixed(3)} (per block pair ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})\n`,
);
upstreams.close();
backend.kill('SIGTERM');
