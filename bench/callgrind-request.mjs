// Instructions per request of a whole attache process (dist/cli.js, the bundled build users run), counted by
// valgrind's callgrind: unlike CPU time, the count hardly moves with the machine's load, so two builds can be
// compared on a busy shared machine. attache runs under `valgrind --tool=callgrind --instr-atstart=no`
// against bench/backend.mjs (its own process, not counted); a client in this process (node:http, keep-alive,
// --c connections) sends --warmup requests, then `callgrind_control -i on` counts exactly --n requests, then
// `-i off`; the figure is the instructions counted divided by --n (the access-log line is written, to
// /dev/null). Each build given (--dist DIRS, comma-separated checkouts with dist/cli.js; default this one)
// is measured --rounds times, alternately. Not a product path: a measurement. Bounded: request counts, and
// every child is killed by PID at the end.
// Usage: node bench/callgrind-request.mjs [--dist A,B] [--method get|post] [--n 2000] [--warmup 1500] [--c 16] [--rounds 1]
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { arg, BENCH_DIR, CREATE_BODY_FILE, GET_PATH, MAPPING_FILE, PROTOS_DIR, REPO_DIR } from './lib/proto.mjs';

const N = Number(arg('n', '2000'));
const WARMUP = Number(arg('warmup', '1500'));
const C = Number(arg('c', '16'));
const ROUNDS = Number(arg('rounds', '1'));
const METHOD = arg('method', 'get');
const CHECKOUTS = arg('dist', REPO_DIR).split(',').map((d) => path.resolve(d));
if (!(N >= 1 && N <= 100000 && WARMUP >= 0 && WARMUP <= 100000 && C >= 1 && C <= 256 && ROUNDS >= 1 && ROUNDS <= 10)) throw new Error('bad --n/--warmup/--c/--rounds');
const BODY = METHOD === 'post' ? fs.readFileSync(CREATE_BODY_FILE) : undefined;
const TARGET = METHOD === 'post' ? '/v1/payments' : GET_PATH;

const backend = spawn(process.execPath, [path.join(BENCH_DIR, 'backend.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const bport = await new Promise((resolve) => backend.stdout.on('data', (d) => /listening (\d+)/.test(String(d)) && resolve(/listening (\d+)/.exec(String(d))[1])));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitReady(adminPort, child, secs) {
  const until = Date.now() + secs * 1000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`attache exited (${child.exitCode})`);
    const ok = await new Promise((resolve) => {
      const r = http.get({ host: '127.0.0.1', port: adminPort, path: '/readyz', timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      r.on('error', () => resolve(false));
      r.on('timeout', () => r.destroy());
    });
    if (ok) return;
    await sleep(250);
  }
  throw new Error('attache not ready in time');
}

/** Sends exactly `count` requests over `C` keep-alive connections; resolves when all answered. */
async function load(port, count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: C });
  let sent = 0;
  let failed = 0;
  const one = () =>
    new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: TARGET, method: METHOD.toUpperCase(), agent, headers: BODY ? { 'content-type': 'application/json', 'content-length': BODY.length } : {} }, (res) => {
        if (res.statusCode !== 200) failed++;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(BODY);
    });
  const worker = async () => {
    while (sent < count) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: C }, worker));
  agent.destroy();
  if (failed > 0) throw new Error(`${failed} requests failed`);
}

/** Runs `callgrind_control` on the attache process; throws unless valgrind answered OK. */
function control(flag, pid, value) {
  const said = execFileSync('callgrind_control', value === undefined ? [flag, String(pid)] : [flag, value, String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (!/OK/.test(said)) throw new Error(`callgrind_control ${flag}: ${said}`);
}

let portSeq = 20000 + Math.floor(Math.random() * 20000);

async function measure(checkout) {
  const out = path.join(os.tmpdir(), `callgrind-request-${process.pid}-${portSeq}.out`);
  const port = portSeq++;
  const adminPort = portSeq++;
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, path.join(checkout, 'dist', 'cli.js'),
      '--protos', PROTOS_DIR, '--mappings', MAPPING_FILE, '--upstream', `127.0.0.1:${bport}`, '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    await waitReady(adminPort, child, 300);
    await load(port, WARMUP);
    control('-z', child.pid);
    control('-i', child.pid, 'on');
    await load(port, N);
    // The dump (part file `out.1`) holds what was counted since the zeroing: the N requests.
    control('-d', child.pid);
    control('-i', child.pid, 'off');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
  }
  const text = fs.readFileSync(`${out}.1`, 'utf8');
  for (const f of [out, `${out}.1`]) fs.rmSync(f, { force: true });
  const m = /^(?:summary|totals): (\d+)/m.exec(text);
  if (m === null) throw new Error(`no totals in the callgrind output; valgrind said:\n${stderr.slice(-2000)}`);
  return Number(m[1]) / N;
}

try {
  const res = CHECKOUTS.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? CHECKOUTS.map((_, i) => i) : CHECKOUTS.map((_, i) => CHECKOUTS.length - 1 - i);
    for (const i of order) res[i].push(await measure(CHECKOUTS[i]));
  }
  let text = `${METHOD.toUpperCase()} c=${C}, ${N} requests counted after ${WARMUP}, instructions per request (callgrind, whole attache process):\n`;
  CHECKOUTS.forEach((d, i) => (text += `  ${path.relative(REPO_DIR, d) || '.'}: ${res[i].map((x) => Math.round(x).toLocaleString('en')).join(', ')}\n`));
  if (CHECKOUTS.length === 2) text += `  first/second: ${res[0].map((x, r) => (x / res[1][r]).toFixed(3)).join(', ')}\n`;
  process.stdout.write(text);
} finally {
  backend.kill('SIGTERM');
}
