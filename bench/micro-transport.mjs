// The lean HTTP/2 transport (dist/upstream/h2/transport.js) against grpc-js as attache calls it
// (dist/upstream/call.js on a grpc.Client with channels.ts's options) and a bare node:http2 exchange (the
// floor: HEADERS + one DATA frame, the answer parsed by hand): the same unary GetPayment (pre-encoded bytes, x-request-id metadata,
// 15 s deadline) at concurrency c, blocks alternating A, B, C… in one process against bench/backend.mjs.
// The figure is this process's CPU per call (user+system), median over blocks; wall time per call, and the
// backend's CPU per call (what each client's way of using HTTP/2 costs the server), too.
// 'own' is the same bare exchange on attache's own HTTP/2 framing (h2/session.ts, hpack.ts) instead of node:http2.
// Usage: npm run build && node bench/micro-transport.mjs [--c 16] [--block 3000] [--blocks 8] [--kinds grpc-js,lean,bare,own]
//        [--base DIR --kinds lean,base,bare,own]   (DIR: another checkout with a built dist/, e.g. the commit before)
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { arg, BENCH_DIR, GET_ID, REPO_DIR } from './lib/proto.mjs';

const { callUnary } = await import(path.join(REPO_DIR, 'dist', 'upstream', 'call.js'));
const { createH2Transport } = await import(path.join(REPO_DIR, 'dist', 'upstream', 'h2', 'transport.js'));
const { parseTarget } = await import(path.join(REPO_DIR, 'dist', 'upstream', 'h2', 'target.js'));
const { ClientSession } = await import(path.join(REPO_DIR, 'dist', 'upstream', 'h2', 'session.js'));
const { encodeFields, encodeIndexed } = await import(path.join(REPO_DIR, 'dist', 'upstream', 'h2', 'hpack.js'));
const C = Number(arg('c', '16'));
const BLOCK = Number(arg('block', '3000'));
const BLOCKS = Number(arg('blocks', '8'));

const backend = spawn(process.execPath, [path.join(BENCH_DIR, 'backend.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
// Whatever happens below (a failed call throws), the backend does not outlive us.
process.on('exit', () => backend.kill('SIGTERM'));
const port = await new Promise((resolve) => backend.stdout.on('data', (d) => /listening (\d+)/.test(String(d)) && resolve(Number(/listening (\d+)/.exec(String(d))[1]))));
const target = `127.0.0.1:${port}`;
const settings = {
  keepaliveTimeMs: 10_000, keepaliveTimeoutMs: 3000, keepalivePermitWithoutCalls: true,
  maxSendBytes: 4 << 20, maxReceiveBytes: 4 << 20, reconnectInitialBackoffMs: 1000, reconnectMaxBackoffMs: 10_000,
  loadBalancing: 'round_robin',
};
// What channels.ts gives grpc-js (without a retry service config: the lean transport does not retry either).
const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
  'grpc.enable_channelz': 0,
  'grpc.use_local_subchannel_pool': 1,
  'grpc.keepalive_time_ms': settings.keepaliveTimeMs,
  'grpc.keepalive_timeout_ms': settings.keepaliveTimeoutMs,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_send_message_length': settings.maxSendBytes,
  'grpc.max_receive_message_length': settings.maxReceiveBytes,
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  'grpc.service_config_disable_resolution': 1,
});
const lean = createH2Transport({ target: parseTarget(target), tls: undefined, settings, userAgent: 'attache-bench' });
// --base DIR: the lean transport of another build (e.g. an earlier commit's `git archive` with its own dist/),
// as subject 'base', for a before/after A/B in one process.
const BASE = arg('base', '');
const base = BASE === '' ? undefined : (await import(path.join(path.resolve(BASE), 'dist', 'upstream', 'h2', 'transport.js'))).createH2Transport({ target: parseTarget(target), tls: undefined, settings, userAgent: 'attache-bench' });
/**
 * The request metadata a build's transport takes, made per call as the request path makes it: attache's own
 * CallMetadata (dist/upstream/call-metadata.js) where the build has it, grpc-js Metadata before that.
 */
async function metadataMaker(dir) {
  try {
    const { CallMetadata } = await import(path.join(dir, 'dist', 'upstream', 'call-metadata.js'));
    return () => CallMetadata.of([['x-request-id', 'bench']]);
  } catch {
    return () => {
      const md = new grpc.Metadata();
      md.set('x-request-id', 'bench');
      return md;
    };
  }
}
const leanMd = await metadataMaker(REPO_DIR);
const baseMd = BASE === '' ? undefined : await metadataMaker(path.resolve(BASE));
const req = Buffer.concat([Buffer.from([0x0a, GET_ID.length]), Buffer.from(GET_ID), Buffer.from([0x10, 1])]);
const PATH = '/bench.v1.PaymentService/GetPayment';

const session = http2.connect(`http://${target}`);
await new Promise((r) => session.once('connect', r));
function bareCall(bytes) {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '15000m', 'x-request-id': 'bench' });
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
      resolve({ response: status === 0 ? buf.subarray(5, 5 + buf.readUInt32BE(1)) : undefined });
    });
  });
}
// attache's own framing (h2/session.ts + hpack.ts) used as bare as the node:http2 exchange above: the same
// headers, the answer parsed by hand. The difference to 'bare' is what node:http2 costs per call.
const sock = net.connect({ host: '127.0.0.1', port });
sock.setNoDelay(true);
const own = new ClientSession(sock, { onRemoteSettings() {}, onGoaway() {}, onError() {}, onClose() {} }, { streamWindow: 1 << 20, connectionWindow: 16 << 20, maxHeaderList: 65_535 });
await new Promise((r) => sock.once('connect', r));
const ownPrefix = Buffer.concat([encodeIndexed(3), encodeIndexed(6), encodeFields([':path', PATH, ':authority', target, 'content-type', 'application/grpc', 'te', 'trailers'])]);
function ownCall(bytes) {
  return new Promise((resolve) => {
    const block = encodeFields(['grpc-timeout', '15000m', 'x-request-id', 'bench'], ownPrefix);
    const frame = Buffer.allocUnsafe(5 + bytes.length);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.length, 1);
    bytes.copy(frame, 5);
    const chunks = [];
    let status = -1;
    own.request(block, 0, frame, {
      onHeaders(fields, end) {
        if (!end) return;
        for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'grpc-status') status = Number(fields[i + 1]);
      },
      onData(c) {
        chunks.push(c);
      },
      onClose() {
        const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        resolve({ response: status === 0 ? buf.subarray(5, 5 + buf.readUInt32BE(1)) : undefined });
      },
    });
  });
}
function leanCall(md, t = lean) {
  return new Promise((resolve) => {
    t.start(PATH, md, req, Date.now() + 15_000, { onHeaders() {}, onEnd: resolve });
  });
}

const KINDS = (arg('kinds', 'grpc-js,lean,bare,own')).split(',');
import fs from 'node:fs';
/** The backend's CPU time so far in µs (utime + stime from /proc, clock ticks of 10 ms). */
const backendCpu = () => {
  const f = fs.readFileSync(`/proc/${backend.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
};
async function block(which) {
  let left = BLOCK;
  const b0 = backendCpu();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (left-- > 0) {
        let o;
        if (which === 'bare') o = await bareCall(req);
        else if (which === 'own') o = await ownCall(req);
        else if (which === 'grpc-js') {
          const md = new grpc.Metadata();
          md.set('x-request-id', 'bench');
          o = await callUnary(client, PATH, req, md, 15000).done;
        } else o = which === 'base' ? await leanCall(baseMd(), base) : await leanCall(leanMd(), lean);
        if (o.response === undefined) throw new Error(`${which} call failed: ${o.details ?? o.error?.details}`);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { cpu: (cpu.user + cpu.system) / BLOCK, wall: Number(process.hrtime.bigint() - t0) / 1000 / BLOCK, backend: (backendCpu() - b0) / BLOCK };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
for (const k of KINDS) await block(k); // warm-up
const r = Object.fromEntries(KINDS.map((k) => [k, []]));
for (let i = 0; i < BLOCKS; i++) for (const k of KINDS) r[k].push(await block(k));
const cpu = (k) => median(r[k].map((x) => x.cpu));
const wall = (k) => median(r[k].map((x) => x.wall));
const back = (k) => median(r[k].map((x) => x.backend));
const LABEL = {
  'grpc-js': "grpc-js (attache's callUnary): ",
  lean: 'lean h2 transport (h2/):       ',
  bare: 'bare node:http2 (floor):       ',
  own: 'bare own framing (session.ts): ',
  base: `lean h2 of --base:             `,
};
const perBlock = (a, b) => {
  const q = r[a].map((x, i) => x.cpu / r[b][i].cpu);
  return `${(cpu(a) / cpu(b)).toFixed(3)} (per block ${Math.min(...q).toFixed(2)}–${Math.max(...q).toFixed(2)})`;
};
let text = `unary call, c=${C}, ${BLOCKS}×${BLOCK} calls each, median of blocks (this process only; the backend is another):\n`;
for (const k of KINDS) text += `  ${LABEL[k]} CPU ${cpu(k).toFixed(1)} µs/call, wall ${wall(k).toFixed(1)} µs/call, backend CPU ${back(k).toFixed(1)} µs/call\n`;
for (const [a, b] of [['lean', 'grpc-js'], ['lean', 'bare'], ['own', 'bare'], ['lean', 'own'], ['lean', 'base'], ['base', 'bare']]) {
  if (KINDS.includes(a) && KINDS.includes(b)) text += `  ${a}/${b} CPU: ${perBlock(a, b)}\n`;
}
process.stdout.write(text);
session.close();
own.close();
lean.close();
base?.close();
client.close();
backend.kill('SIGTERM');
