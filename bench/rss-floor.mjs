// Resident memory of a Node process that has only loaded the libraries attache loads at start-up — no
// attache code, no protos, no server — next to bare Node: the floor under attache's ready RSS (the
// "≤ 64 MiB when ready" target of docs/performance.md). Each line is a fresh process, measured 500 ms after its imports; the
// median of RUNS (default 3) is printed. Usage: node bench/rss-floor.mjs [RUNS]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 3);
// What src/ imports at start-up (the OTLP exporters are imported only when tracing exports).
const LIBS = ['fastify', 'pino', 'protobufjs', '@grpc/grpc-js', 'prom-client', 'yaml', '@opentelemetry/api',
  '@opentelemetry/core', '@opentelemetry/sdk-trace', '@opentelemetry/propagator-b3', '@opentelemetry/resources'];

const probe = (mods) => `
for (const m of ${JSON.stringify(mods)}) require(require.resolve(m, { paths: [${JSON.stringify(root)}] }));
setTimeout(() => {
  const s = require('fs').readFileSync('/proc/self/status', 'utf8');
  const kib = (k) => Number(s.match(new RegExp(k + ':\\\\s+(\\\\d+)'))[1]);
  console.log(JSON.stringify({ rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') }));
}, 500);`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (kib) => (kib / 1024).toFixed(1).padStart(6);

console.log(`node ${process.version}; median of ${runs} processes; MiB`);
console.log('loaded'.padEnd(32), '  VmRSS  anon   file');
for (const [name, mods] of [['bare node', []], ...LIBS.map((m) => [m, [m]]), ['all of them', LIBS]]) {
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(JSON.parse(execFileSync(process.execPath, ['-e', probe(mods)], { encoding: 'utf8' })));
  const m = (k) => median(samples.map((s) => s[k]));
  console.log(name.padEnd(32), mib(m('rss')), mib(m('anon')), mib(m('file')));
}
