// Per-request CPU budget by component from a V8 .cpuprofile of bench/micro-request.mjs (one build): self time
// grouped into buckets (socket writes, GC, Node's HTTP/1 server, Fastify, attache's codec, …), start-up
// (module loading and compilation) and idle left out, each bucket scaled to µs per request with the CPU per
// request the run printed (`--us`), so the buckets add up to it.
// Usage: node bench/lib/budget.mjs FILE.cpuprofile --us 169.3
import fs from 'node:fs';

const file = process.argv[2];
const usIdx = process.argv.indexOf('--us');
const usPerRequest = Number(process.argv[usIdx + 1]);
if (!file || !(usPerRequest > 0)) throw new Error('usage: budget.mjs FILE.cpuprofile --us N');
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

/** The bucket of a sample: by its own frame, or for native frames by the nearest JS caller. */
function bucketOf(id) {
  const cf = byId.get(id).callFrame;
  const fn = cf.functionName;
  const url = cf.url;
  if (fn === '(idle)') return undefined;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'native, unattributed ((program): llhttp, libuv, V8)';
  // Start-up: module loading and compilation are not per request.
  for (let p = id; p !== undefined; p = parent.get(p)) {
    const f = byId.get(p).callFrame;
    if (/modules\/(cjs|esm)\//.test(f.url) || f.functionName === 'compileForInternalLoader') return 'start-up (module loading; excluded)';
    if (/child_process/.test(f.url)) return 'start-up (module loading; excluded)';
  }
  if (fn === 'writeBuffer' || fn === 'writev' || fn === 'writeString' || fn === 'writeUtf8String' || fn === 'writeLatin1String') {
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const f = byId.get(p).callFrame;
      if (/upstream\/h2\//.test(f.url)) return 'socket write: HTTP/2 frames to the upstream (kernel)';
      if (/sonic-boom|telemetry\/logging/.test(f.url)) return 'access-log line write (kernel)';
      if (/_http_outgoing|fastify|http\/lean/.test(f.url)) return 'socket write: HTTP/1 responses (kernel)';
    }
    return 'socket write: other';
  }
  if (/node_modules\/fastify\/|node_modules\/find-my-way|node_modules\/@fastify\/|node_modules\/avvio|node_modules\/light-my-request/.test(url)) return 'Fastify + find-my-way + @fastify/cors + @fastify/websocket';
  if (/node_modules\/(pino|sonic-boom)/.test(url) || /telemetry\/logging/.test(url)) return 'access log (pino, the line)';
  if (/node_modules\/@opentelemetry|telemetry\//.test(url)) return 'telemetry: tracing ids/propagation, metrics, exchange';
  if (/\/(dist|src)\/codec\/|protobufjs|node_modules\/long/.test(url) || /\$encode|\$decode/.test(fn)) return 'attache codec (JSON ⇄ protobuf)';
  if (/\/(dist|src)\/upstream\//.test(url)) return 'attache upstream (h2 client, retry driver, metadata)';
  if (/\/(dist|src)\//.test(url)) return 'attache pipeline, routing, transcode, status, http';
  if (/^node:(_http|http|internal\/http|net|internal\/stream|internal\/streams|stream|_stream)/.test(url) || /node:internal\/stream_base/.test(url)) return 'Node HTTP/1 server, net, streams (JS)';
  if (/^node:(buffer|internal\/buffer)/.test(url)) return 'Node buffers';
  if (/^node:(events|internal\/process|internal\/timers|timers|internal\/async_hooks|async_hooks)/.test(url)) return 'Node events, ticks, timers, promises';
  if (url === '') {
    // A native frame (a builtin such as hexSlice, runMicrotasks): the JS caller's bucket.
    const p = parent.get(id);
    if (p !== undefined && byId.get(p).callFrame.url !== '') return bucketOf(p);
    return 'native/builtins, other';
  }
  return 'other (each < 0.5%: fs, crypto, prom-client at scrape, …)';
}

const buckets = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const b = bucketOf(prof.samples[i]);
  if (b === undefined) continue;
  buckets.set(b, (buckets.get(b) ?? 0) + (dt[i] ?? 0));
}
const startup = [...buckets].filter(([k]) => k.startsWith('start-up')).reduce((s, [, t]) => s + t, 0);
const busy = [...buckets.values()].reduce((a, b) => a + b, 0) - startup;
process.stdout.write(`${file}\n| µs per request | share |\n|---|---:|\n`);
for (const [k, t] of [...buckets].filter(([k]) => !k.startsWith('start-up')).sort((a, b) => b[1] - a[1])) {
  process.stdout.write(`| ${k} | ${((usPerRequest * t) / busy).toFixed(1)} (${((100 * t) / busy).toFixed(1)}%) |\n`);
}
process.stdout.write(`| **total (busy, start-up excluded)** | **${usPerRequest.toFixed(1)}** |\n`);
