// CPU per request of attache's whole HTTP/1 path — Fastify, the plugin, the pipeline, telemetry (metrics,
// the access-log line), header ↔ metadata, the grpc-js call — with A/B builds in ONE process: every build
// given (--dist, and --ref for a second one, e.g. a copy of dist/ made before a change) is started in this
// process with `start()` from its main.js against the same grpc-js backend (bench/backend.mjs, answering from
// pre-encoded bytes, in a child process), and wrk (HTTP/1.1 keep-alive, a closed loop) drives them in
// alternating blocks, so both see the same machine load. The figure is this process's CPU (user+system,
// process.cpuUsage) over a block divided by the requests wrk completed in it; median over blocks, and the
// per-pair ratio range. Access-log lines are written at --log-level (default info, attache's default) to
// /dev/null through pino's synchronous destination, so the line is built and written as in production.
// Not a product path: a measurement. Bounded: wrk -d plus a request cap; the backend is stopped by PID.
// Usage: node bench/micro-request.mjs [--dist DIR] [--ref DIR] [--secs 3] [--blocks 4] [--c 16]
//                                     [--method get|post] [--log-level info|warn] [--prof-only]
import { spawn } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { pino } from 'pino';
import { arg, BENCH_DIR, CREATE_BODY_FILE, GET_PATH, MAPPING_FILE, PROTOS_DIR, REPO_DIR } from './lib/proto.mjs';

const SECS = Number(arg('secs', '3'));
const BLOCKS = Number(arg('blocks', '4'));
const C = Number(arg('c', '16'));
const METHOD = arg('method', 'get');
const LOG_LEVEL = arg('log-level', 'info');
const DISTS = [path.resolve(arg('dist', path.join(REPO_DIR, 'dist')))];
if (arg('ref', '') !== '') DISTS.push(path.resolve(arg('ref', '')));
if (!(SECS > 0 && SECS <= 60 && BLOCKS >= 1 && BLOCKS <= 20 && C >= 1 && C <= 256)) throw new Error('bad --secs/--blocks/--c');

const backend = spawn(process.execPath, [path.join(BENCH_DIR, 'backend.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const timer = setTimeout(() => backend.kill('SIGKILL'), (SECS * BLOCKS * DISTS.length * 2 + 60) * 1000);
timer.unref();
const bport = await new Promise((resolve) => backend.stdout.on('data', (d) => /listening (\d+)/.test(String(d)) && resolve(/listening (\d+)/.exec(String(d))[1])));

/** pino's default destination (synchronous sonic-boom, as main.ts's createLogger uses on stdout), on /dev/null. */
const destinationOf = () => pino.destination({ dest: fs.openSync('/dev/null', 'w'), sync: true });

async function startBuild(dist) {
  const { loadConfig } = await import(path.join(dist, 'config', 'load.js'));
  const { start } = await import(path.join(dist, 'main.js'));
  const logging = await import(path.join(dist, 'telemetry', 'logging.js'));
  const argv = ['--protos', PROTOS_DIR, '--mappings', MAPPING_FILE, '--upstream', `127.0.0.1:${bport}`, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', LOG_LEVEL];
  const loaded = loadConfig(argv, {});
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const logger = pino(logging.loggerOptions(loaded.config), destinationOf());
  const running = await start(loaded.config, logger);
  return { dist, running, port: running.port };
}

function wrk(port) {
  const env = { ...process.env, BENCH_MAX_REQUESTS: '2000000', BENCH_BODY_FILE: METHOD === 'post' ? CREATE_BODY_FILE : '' };
  const target = METHOD === 'post' ? '/v1/payments' : GET_PATH;
  return new Promise((resolve, reject) => {
    const w = spawn('wrk', ['-t1', `-c${C}`, `-d${SECS}s`, '-s', path.join(BENCH_DIR, 'lib', 'wrk.lua'), `http://127.0.0.1:${port}${target}`], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const kill = setTimeout(() => w.kill('SIGKILL'), (SECS + 15) * 1000);
    let out = '';
    w.stdout.on('data', (d) => (out += d));
    w.on('close', () => {
      clearTimeout(kill);
      const m = /BENCHJSON (\{.*\})/.exec(out);
      if (m) resolve(JSON.parse(m[1]));
      else reject(new Error(`wrk: ${out}`));
    });
  });
}

async function block(port) {
  const c0 = process.cpuUsage();
  const r = await wrk(port);
  const c = process.cpuUsage(c0);
  return { us: (c.user + c.system) / r.requests, rps: r.rps, errors: r.errors };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const builds = [];
try {
  for (const d of DISTS) builds.push(await startBuild(d));
  // Warm-up: JIT and connection set-up, one short block each.
  for (const b of builds) await block(b.port);
  const res = builds.map(() => []);
  for (let i = 0; i < BLOCKS; i++) {
    // Alternate the order each round, so neither build always runs right after the other.
    const order = i % 2 === 0 ? builds.map((_, j) => j) : builds.map((_, j) => builds.length - 1 - j);
    for (const j of order) res[j].push(await block(builds[j].port));
  }
  let text = `${METHOD.toUpperCase()} c=${C}, log-level ${LOG_LEVEL}, ${BLOCKS} blocks × ${SECS} s, CPU µs/request of this process (median [min–max]):\n`;
  builds.forEach((b, j) => {
    const us = res[j].map((x) => x.us);
    const errors = res[j].reduce((s, x) => s + x.errors, 0);
    text += `  ${path.relative(REPO_DIR, b.dist) || b.dist}: ${median(us).toFixed(1)} µs [${Math.min(...us).toFixed(1)}–${Math.max(...us).toFixed(1)}], ${median(res[j].map((x) => x.rps)).toFixed(0)} req/s${errors ? `, ${errors} errors` : ''}\n`;
  });
  if (builds.length === 2) {
    const ratios = res[0].map((x, i) => x.us / res[1][i].us);
    text += `  ${path.relative(REPO_DIR, builds[0].dist)}/${path.relative(REPO_DIR, builds[1].dist)}: median ${median(ratios).toFixed(3)} (per block pair ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})\n`;
  }
  process.stdout.write(text);
} finally {
  for (const b of builds) await b.running.stop();
  backend.kill('SIGTERM');
}
