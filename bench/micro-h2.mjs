// Evidence for "the way past grpc-js": the same unary call (GetPayment, pre-encoded bytes, x-request-id
// metadata, a 15 s grpc-timeout) made (A) through grpc-js as attache makes it (dist/upstream/call.js) and
// (B) as a bare gRPC-over-HTTP/2 exchange on node:http2 (one session; HEADERS + one length-prefixed DATA
// frame; response DATA and trailers parsed by hand). Blocks alternate A, B, A, B… in one process against
// bench/backend.mjs; the figure is this process's CPU per call, median over blocks. B is a measurement
// prototype only: no retries, no name resolution or load balancing, no keepalive, no compression, no TLS.
// Usage: node bench/micro-h2.mjs [--c 16] [--block 3000] [--blocks 8]
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { arg, BENCH_DIR, GET_ID, REPO_DIR } from './lib/proto.mjs';

const { callUnary } = await import(path.join(REPO_DIR, 'dist', 'upstream', 'call.js'));
const C = Number(arg('c', '16'));
const BLOCK = Number(arg('block', '3000'));
const BLOCKS = Number(arg('blocks', '8'));

const backend = spawn(process.execPath, [path.join(BENCH_DIR, 'backend.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve) => backend.stdout.on('data', (d) => /listening (\d+)/.test(String(d)) && resolve(Number(/listening (\d+)/.exec(String(d))[1]))));
// A grpc-js client as attache's grpc-js wire makes it (no channelz, its own subchannel pool).
const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.enable_channelz': 0, 'grpc.use_local_subchannel_pool': 1 });
const req = Buffer.concat([Buffer.from([0x0a, GET_ID.length]), Buffer.from(GET_ID), Buffer.from([0x10, 1])]);
const PATH = '/bench.v1.PaymentService/GetPayment';

const session = http2.connect(`http://127.0.0.1:${port}`);
await new Promise((r) => session.once('connect', r));

function h2Call(bytes) {
  return new Promise((resolve) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '15000m',
      'x-request-id': 'bench',
    });
    const frame = Buffer.allocUnsafe(5 + bytes.length);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.length, 1);
    bytes.copy(frame, 5);
    stream.end(frame);
    const chunks = [];
    let status = -1;
    stream.on('data', (c) => chunks.push(c));
    stream.on('trailers', (t) => (status = Number(t['grpc-status'])));
    stream.on('close', () => {
      const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      resolve({ response: status === 0 ? buf.subarray(5, 5 + buf.readUInt32BE(1)) : undefined, status });
    });
  });
}

async function block(which) {
  let left = BLOCK;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (left-- > 0) {
        let o;
        if (which === 'grpc-js') {
          const md = new grpc.Metadata();
          md.set('x-request-id', 'bench');
          o = await callUnary(client, PATH, req, md, 15000).done;
        } else o = await h2Call(req);
        if (o.response === undefined) throw new Error(`${which} call failed`);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / BLOCK;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
await block('grpc-js');
await block('h2');
const a = [];
const b = [];
for (let i = 0; i < BLOCKS; i++) {
  a.push(await block('grpc-js'));
  b.push(await block('h2'));
}
process.stdout.write(
  `unary call, c=${C}, ${BLOCKS}×${BLOCK} calls each, CPU µs/call (median of blocks):\n` +
    `  grpc-js (attache's callUnary): ${median(a).toFixed(1)}\n` +
    `  bare node:http2:               ${median(b).toFixed(1)}\n` +
    `  bare/grpc-js: ${(median(b) / median(a)).toFixed(3)} (per block pair ${Math.min(...b.map((x, i) => x / a[i])).toFixed(2)}–${Math.max(...b.map((x, i) => x / a[i])).toFixed(2)})\n`,
);
session.close();
upstreams.close();
backend.kill('SIGTERM');
