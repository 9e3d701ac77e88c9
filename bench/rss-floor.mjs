// Resident memory of a Node process that has only loaded the libraries attache loads at start-up — no
// attache code, no protos, no server — next to bare Node: the floor under attache's ready RSS (the
// "≤ 64 MiB when ready" target of docs/performance.md). Each line is a fresh process, measured 500 ms after
// its imports; the median of RUNS (default 3) is printed. The last line loads them as attache's bundle does:
// node:http2, node:tls, node:https and node:zlib, which the libraries require when they load, are proxies
// that load the module on first use (scripts/bundle.mjs), so they are not loaded.
// Usage: node bench/rss-floor.mjs [RUNS]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 3);
// What src/ imports at start-up with upstreams on the lean transport (grpc-js is loaded only for a grpc-js
// upstream, the OTLP exporters only when tracing exports).
const LIBS = ['fastify', 'pino', 'protobufjs', 'prom-client', 'yaml', '@opentelemetry/api',
  '@opentelemetry/core', '@opentelemetry/sdk-trace', '@opentelemetry/propagator-b3', '@opentelemetry/resources'];

// The bundle's proxies, for the last line (a require hook here; the bundle resolves them at build time).
const ON_FIRST_USE = `
const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  const m = /^(?:node:)?(http2|tls|https|zlib)$/.exec(request);
  if (m === null) return load.call(this, request, ...rest);
  let mod; const real = () => (mod ??= load.call(this, 'node:' + m[1], ...rest));
  const own = m[1] === 'zlib' ? { gzipSync: (...a) => real().gzipSync(...a) } : {};
  return new Proxy(own, { get: (t, k) => (Object.hasOwn(t, k) ? t[k] : real()[k]) });
};`;

const probe = (mods, lazy) => `${lazy ? ON_FIRST_USE : ''}
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
const lines = [['bare node', []], ...LIBS.map((m) => [m, [m]]), ['all of them', LIBS], ['all, built-ins as the bundle', LIBS, true]];
for (const [name, mods, lazy = false] of lines) {
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(JSON.parse(execFileSync(process.execPath, ['-e', probe(mods, lazy)], { encoding: 'utf8' })));
  const m = (k) => median(samples.map((s) => s[k]));
  console.log(name.padEnd(32), mib(m('rss')), mib(m('anon')), mib(m('file')));
}
