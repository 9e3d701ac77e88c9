// What node:http2 keeps of a finished client stream: sequential unary gRPC calls on bare node:http2 (no
// attache code) against bench/backend.mjs, with V8's per-GC heap statistics (v8.GCProfiler) over --calls
// calls: bytes the scavenges moved into the old generation per call. With --attach KB, each stream gets an
// array of that size as a property when it closes: if the closed stream were garbage at the next scavenge,
// the array would die young and add nothing; if the stream stays reachable (Node 20's `request()` binds it
// into an AsyncResource whose per-call accessor and prototype objects live in the old generation, see
// bench/RESULTS.md §0.7.2), the array is promoted with it and the figure grows by about its size.
// With --attach, run node with --no-allocation-site-pretenuring: otherwise V8 soon sees that every array
// from that site survives and allocates them in the old generation directly (which says the same thing, but
// is not counted as promoted).
// --isolate KIND: no HTTP/2 at all; --calls iterations that each make a 5 KB array reachable only from a
// fresh object used the way Node 20's AsyncResource.bind uses its per-call functions, then drop it:
// `none` (plain garbage), `bind` (new AsyncResource().bind(fn.bind(holder))), `setprototype`
// (Object.setPrototypeOf(fresh function, holder)), `accessor` (Object.defineProperties(fresh function, a
// getter closing over holder)). What survives is promoted once per iteration.
// Usage: node --no-allocation-site-pretenuring bench/http2-pinning.mjs [--calls 20000] [--attach 0] [--isolate KIND]
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import path from 'node:path';
import v8 from 'node:v8';
import { arg, BENCH_DIR, GET_ID } from './lib/proto.mjs';

const CALLS = Number(arg('calls', '20000'));
const ATTACH_KB = Number(arg('attach', '0'));
if (!(CALLS > 0 && CALLS <= 200000)) throw new Error('--calls 1..200000');
const ISOLATE = arg('isolate', '');
const OLD = new Set(['old_space', 'code_space', 'map_space', 'large_object_space', 'code_large_object_space']);
const oldBytes = (s) => s.heapSpaceStatistics.reduce((n, x) => n + (OLD.has(x.spaceName) ? x.spaceUsedSize : 0), 0);
const promotedBy = (statistics) => statistics.filter((g) => g.gcType === 'Scavenge').reduce((n, g) => n + Math.max(0, oldBytes(g.afterGC) - oldBytes(g.beforeGC)), 0);
if (ISOLATE !== '') {
  const { AsyncResource } = await import('node:async_hooks');
  const target = function () {};
  let sink;
  const prof = new v8.GCProfiler();
  prof.start();
  for (let i = 0; i < CALLS; i++) {
    const holder = function () {};
    holder.data = new Array(640).fill(i);
    if (ISOLATE === 'bind') new AsyncResource('X').bind(target.bind(holder))();
    else if (ISOLATE === 'setprototype') Object.setPrototypeOf(function () {}, holder);
    else if (ISOLATE === 'accessor') Object.defineProperties(function () {}, { x: { get: () => holder, configurable: true, enumerable: true } });
    else if (ISOLATE !== 'none') throw new Error('--isolate none|bind|setprototype|accessor');
    sink = holder;
    await null; // one job per iteration, as a request is
    for (let j = 0; j < 30; j++) sink = { j, a: [j] }; // some garbage, so scavenges come
  }
  const { statistics } = prof.stop();
  process.stdout.write(`node ${process.version}, ${CALLS} iterations, --isolate ${ISOLATE}: promoted ${(promotedBy(statistics) / CALLS).toFixed(0)} B/iteration (5 KB reachable per iteration)\n`);
  process.exit(0);
}
const backend = spawn(process.execPath, [path.join(BENCH_DIR, 'backend.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => backend.kill('SIGTERM'));
const bport = await new Promise((r) => backend.stdout.on('data', (d) => /listening (\d+)/.test(String(d)) && r(/listening (\d+)/.exec(String(d))[1])));
const session = http2.connect(`http://127.0.0.1:${bport}`);
await new Promise((r) => session.once('remoteSettings', r));
// bench.v1.GetPaymentRequest{payment_id, include_items: true}, length-prefixed (gRPC PROTOCOL-HTTP2.md).
const id = Buffer.from(GET_ID);
const msg = Buffer.concat([Buffer.from([0x0a, id.length]), id, Buffer.from([0x10, 1])]);
const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
const HEADERS = { ':method': 'POST', ':path': '/bench.v1.PaymentService/GetPayment', 'content-type': 'application/grpc', te: 'trailers' };

function call() {
  return new Promise((resolve) => {
    const st = session.request(HEADERS);
    st.on('data', () => {});
    st.on('close', () => {
      if (ATTACH_KB > 0) st.attached = new Array(ATTACH_KB * 128).fill(0); // 8 B per element without pointer compression
      resolve();
    });
    st.end(frame);
  });
}

for (let i = 0; i < 2000; i++) await call(); // warm-up
const prof = new v8.GCProfiler();
prof.start();
for (let i = 0; i < CALLS; i++) await call();
const { statistics } = prof.stop();
const sc = statistics.filter((g) => g.gcType === 'Scavenge');
const promoted = promotedBy(statistics);
process.stdout.write(
  `node ${process.version}, ${CALLS} calls, ${ATTACH_KB} KB attached at close: ${sc.length} scavenges, ` +
    `${statistics.length - sc.length} other GCs; promoted ${(promoted / CALLS).toFixed(0)} B/call\n`,
);
session.close();
process.exit(0);
