// `npm run bench`: attache side by side with a hand-written Fastify + grpc-js handler and a direct grpc-js
// client, against one grpc-js backend, on the same two routes, in one run.
//
// For each method (GET, POST) and concurrency (1, 16, 64), every subject is measured in turn for --duration
// seconds (the order rotates from level to level and from round to round, so no subject always runs first
// or last after a pause), with wrk (HTTP/1.1 keep-alive, -t1 -c N, a closed loop). The figures per subject
// and level: req/s, p50/p99 (wrk's histogram), CPU per request (utime+stime of the subject's process tree
// from /proc/<pid>/stat over the level, all threads) and peak RSS (VmHWM, summed over the tree). Ratios are
// taken between subjects measured seconds apart, which is what survives the noise of a shared machine.
//
// Bounded: every wrk has -d plus a hard kill after duration + 15 s and a request cap; every process is
// started by this script and stopped by PID. Only 127.0.0.1 is used, on ports the OS picks.
//
// Options: --duration S (5) --warmup S (2) --levels 1,16,64 --methods get,post
//          --subjects attache,baseline,direct (also: attache-w2 = attache --workers 2, attache-grpcjs = attache
//          --upstream-transport grpc-js, the upstream client it used before its own HTTP/2 transport)
//          --attache-args "..." (appended to attache's flags) --attache-node-args "..." (node flags, e.g. V8's)
//          --ref-dist DIR (subject `ref`: another build of attache, e.g. before a change, for A/B ratios) --quick (1 s levels, no warm-up) --out FILE
//          --backend-target HOST:PORT (use a running backend instead of starting bench/backend.mjs)
//          --stream-count N --stream-rounds R (the streaming scenario, bench/stream.mjs, run after) --no-stream
//          --realworld-sizes 1,5,25 (the real-world proto sets, bench/realworld.mjs, run after) --no-realworld
//          --no-large (skip the large-message scenario, bench/large-messages.mjs, run last; --large-args "…" replaces its flags)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { benchJson, listening, runBounded, startAttache as startAttacheProcess, startBackend, startNode, stopAll, wrk as runWrk } from './lib/processes.mjs';
import { arg, BENCH_DIR, CREATE_BODY_FILE, cpuSeconds, createBody, GET_PATH, memMiB, REPO_DIR } from './lib/proto.mjs';

const quick = process.argv.includes('--quick');
const DURATION = Number(arg('duration', quick ? '1' : '5'));
const WARMUP = Number(arg('warmup', quick ? '0' : '2'));
const LEVELS = arg('levels', '1,16,64').split(',').map(Number);
const METHODS = arg('methods', 'get,post').split(',');
const SUBJECTS = arg('subjects', 'attache,baseline,direct').split(',');
const ATTACHE_ARGS = arg('attache-args', '').split(' ').filter(Boolean);
const ATTACHE_NODE_ARGS = arg('attache-node-args', '').split(' ').filter(Boolean);
const REF_DIST = arg('ref-dist', '');
const ROUNDS = Number(arg('rounds', '1'));
const MAX_REQUESTS = 2_000_000;
const OUT = arg('out', path.join(REPO_DIR, '.bench-out', `results-${new Date().toISOString().replace(/[:.]/g, '-')}.md`));
for (const s of SUBJECTS) if (!['attache', 'attache-w2', 'attache-grpcjs', 'ref', 'baseline', 'direct'].includes(s)) throw new Error(`unknown subject ${s}`);
if (!(ROUNDS >= 1 && ROUNDS <= 9)) throw new Error('--rounds must be in 1..9');
if (!(DURATION > 0 && DURATION <= 60)) throw new Error('--duration must be in (0, 60]');
for (const c of LEVELS) if (!(c >= 1 && c <= 256)) throw new Error('--levels must be in 1..256');

const log = (s) => process.stderr.write(`${s}\n`);

/** The pid and its descendants (cluster workers), from /proc/<pid>/task/<tid>/children. */
function tree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks = [];
    try {
      tasks = fs.readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of fs.readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
      } catch {
        /* the task ended */
      }
    }
  }
  return out;
}
const treeCpu = (pid) => tree(pid).reduce((s, p) => s + (cpuSeconds(p) || 0), 0);
const treeMem = (pid, field = 'VmHWM') => tree(pid).reduce((s, p) => s + (memMiB(p, field) || 0), 0);

/** The BENCHJSON line of wrk.lua or direct.mjs: a run that printed none fails the bench, with its output. */
function mustBenchJson(out) {
  const r = benchJson(out);
  if (r === undefined) throw new Error(`no BENCHJSON in:\n${out}`);
  return r;
}

async function wrk(url, method, conc, seconds) {
  const env = { BENCH_MAX_REQUESTS: String(MAX_REQUESTS), BENCH_BODY_FILE: method === 'post' ? CREATE_BODY_FILE : '' };
  const target = method === 'get' ? `${url}${GET_PATH}` : `${url}/v1/payments`;
  return mustBenchJson(await runWrk(target, { conc, secs: seconds, env }));
}

// ---- subjects -------------------------------------------------------------------------------------------

/** A started subject with its RSS right when ready (summed over its process tree). */
const subject = (s, url) => ({ ...s, url, kind: 'http', rssReadyMiB: treeMem(s.pid, 'VmRSS') });

async function startAttache(name, upstream, extra, dist = path.join(REPO_DIR, 'dist'), nodeArgs = ATTACHE_NODE_ARGS) {
  const s = await startAttacheProcess({ name, dist, upstream, nodeArgs, extraArgs: [...extra, ...ATTACHE_ARGS] });
  return subject(s, s.url);
}

async function startBaseline(upstream) {
  const s = await startNode('baseline', [path.join(BENCH_DIR, 'baseline.mjs'), '--upstream', upstream], async (out) => listening(out));
  return subject(s, `http://127.0.0.1:${s.info}`);
}

async function verify(subject) {
  const get = await fetch(`${subject.url}${GET_PATH}`);
  const post = await fetch(`${subject.url}/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: createBody() });
  const missing = await fetch(`${subject.url}/v1/payments/missing_1`);
  const g = await get.json();
  const p = await post.json();
  await missing.arrayBuffer();
  if (get.status !== 200 || post.status !== 200 || missing.status !== 404) throw new Error(`${subject.name}: statuses ${get.status} ${post.status} ${missing.status}`);
  return { get: g, post: p };
}

// ---- main -----------------------------------------------------------------------------------------------

function machine() {
  const cpus = os.cpus();
  let wrkVersion = '';
  try {
    wrkVersion = execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0];
  } catch (e) {
    wrkVersion = String(e.stdout ?? '').split('\n')[0];
  }
  return `${os.type()} ${os.release()}, ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${wrkVersion.trim()}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');

async function main() {
  try {
    execFileSync('wrk', ['-v'], { stdio: 'ignore' });
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('wrk is not installed (Debian: apt-get install wrk)');
  }
  if (!fs.existsSync(path.join(REPO_DIR, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: npm run build');

  let upstream = arg('backend-target', '');
  let backend;
  if (upstream === '') {
    backend = await startBackend();
    upstream = backend.target;
  }
  const subjects = [];
  for (const name of SUBJECTS) {
    if (name === 'attache') subjects.push(await startAttache(name, upstream, []));
    else if (name === 'attache-w2') subjects.push(await startAttache(name, upstream, ['--workers', '2']));
    else if (name === 'attache-grpcjs') subjects.push(await startAttache(name, upstream, ['--upstream-transport', 'grpc-js']));
    else if (name === 'ref') subjects.push(await startAttache(name, upstream, [], REF_DIST, []));
    else if (name === 'baseline') subjects.push(await startBaseline(upstream));
    else subjects.push({ name, kind: 'direct' });
  }
  const http = subjects.filter((s) => s.kind === 'http');
  const answers = {};
  for (const s of http) answers[s.name] = await verify(s);
  if (answers.attache && answers.baseline && !isDeepStrictEqual(answers.attache, answers.baseline)) {
    log(`WARNING: attache and baseline answer differently:\n${JSON.stringify(answers.attache)}\n${JSON.stringify(answers.baseline)}`);
  }
  for (const s of http) log(`${s.name}: ready in ${s.readyMs.toFixed(0)} ms, RSS when ready ${s.rssReadyMiB.toFixed(1)} MiB`);
  if (WARMUP > 0) for (const s of http) for (const m of METHODS) await wrk(s.url, m, 16, WARMUP);

  const all = [];
  // The order rotates from level to level and, for each level, from round to round: on this kind of machine
  // whichever subject runs first in a level after a pause can use less CPU per request (bench/RESULTS.md
  // §21: POST c=1, 0.59–0.94× with attache first against 1.13–1.15× with it second). A rotation by level alone
  // gave each level the same order in every round whenever the levels per round were a multiple of the
  // subjects (two subjects, six levels); with --rounds equal to the number of subjects, every subject
  // runs first once in every level.
  for (let round = 1; round <= ROUNDS; round++) for (const [m, method] of METHODS.entries()) {
    for (const [l, conc] of LEVELS.entries()) {
      const rot = m * LEVELS.length + l + (round - 1);
      const order = subjects.map((_, i) => subjects[(i + rot) % subjects.length]);
      for (const s of order) {
        let r;
        if (s.kind === 'http') {
          const b0 = backend ? cpuSeconds(backend.pid) : NaN;
          const c0 = treeCpu(s.pid);
          r = await wrk(s.url, method, conc, DURATION);
          const cpu = treeCpu(s.pid) - c0;
          const bcpu = backend ? cpuSeconds(backend.pid) - b0 : NaN;
          r = { ...r, cpu_s: cpu, backend_cpu_s: bcpu, peak_rss_mib: treeMem(s.pid) };
        } else {
          const b0 = backend ? cpuSeconds(backend.pid) : NaN;
          const out = await runBounded(process.execPath, [path.join(BENCH_DIR, 'direct.mjs'), '--target', upstream, '--method', method, '--c', String(conc), '--duration', String(DURATION), '--warmup', String(Math.min(1, WARMUP))], { timeoutMs: (DURATION + 20) * 1000 });
          r = { ...mustBenchJson(out.out), backend_cpu_s: backend ? cpuSeconds(backend.pid) - b0 : NaN };
        }
        r.cpu_us_per_req = (r.cpu_s / r.requests) * 1e6;
        r.backend_us_per_req = (r.backend_cpu_s / r.requests) * 1e6;
        all.push({ round, subject: s.name, method: method.toUpperCase(), conc, ...r });
        log(`${method.toUpperCase()} c=${conc} ${s.name}: ${f0(r.rps)} req/s p50 ${f2(r.p50_ms)} ms p99 ${f2(r.p99_ms)} ms cpu ${f0(r.cpu_us_per_req)} µs/req rss ${f0(r.peak_rss_mib)} MiB errors ${r.errors}`);
      }
    }
  }

  // Per subject × method × level: the median over rounds of each figure (the mean of the middle two for an even count); ratios per round, then the median.
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const rows = [];
  for (const method of METHODS.map((m) => m.toUpperCase())) {
    for (const conc of LEVELS) {
      for (const s of subjects) {
        const rs = all.filter((r) => r.subject === s.name && r.method === method && r.conc === conc);
        if (rs.length === 0) continue;
        const m = {};
        for (const k of Object.keys(rs[0])) m[k] = typeof rs[0][k] === 'number' ? median(rs.map((r) => r[k])) : rs[0][k];
        m.errors = rs.reduce((a, r) => a + r.errors, 0);
        m.peak_rss_mib = Math.max(...rs.map((r) => r.peak_rss_mib));
        m.rps_range = `${f0(Math.min(...rs.map((r) => r.rps)))}–${f0(Math.max(...rs.map((r) => r.rps)))}`;
        rows.push(m);
      }
    }
  }
  const pairRatio = (a, b, method, conc, key) => {
    const xs = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const x = all.find((r) => r.round === round && r.subject === a && r.method === method && r.conc === conc);
      const y = all.find((r) => r.round === round && r.subject === b && r.method === method && r.conc === conc);
      if (x && y && y[key] !== 0) xs.push(x[key] / y[key]);
    }
    if (xs.length === 0) return '–';
    const med = `${median(xs).toFixed(2)}×`;
    return xs.length > 1 ? `${med} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})` : med;
  };

  const lines = [];
  lines.push(`# attache bench — ${new Date().toISOString()}`, '', `Machine: ${machine()}`, '');
  lines.push(`Command: \`node bench/run.mjs ${process.argv.slice(2).join(' ')}\` — ${ROUNDS} round(s), ${DURATION} s per level, warm-up ${WARMUP} s, wrk -t1, backend ${backend ? 'bench/backend.mjs (grpc-js)' : upstream}`, '');
  lines.push('| subject | ready ms | RSS when ready MiB |', '|---|---:|---:|');
  for (const s of http) lines.push(`| ${s.name} | ${f0(s.readyMs)} | ${f2(s.rssReadyMiB)} |`);
  lines.push('', '| method | conc | subject | req/s | req/s range | p50 ms | p99 ms | CPU µs/req | peak RSS MiB | backend CPU µs/req | errors |', '|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) lines.push(`| ${r.method} | ${r.conc} | ${r.subject} | ${f0(r.rps)} | ${r.rps_range} | ${f2(r.p50_ms)} | ${f2(r.p99_ms)} | ${f0(r.cpu_us_per_req)} | ${f0(r.peak_rss_mib)} | ${f0(r.backend_us_per_req)} | ${r.errors} |`);
  const pairs = [];
  for (const a of ['attache', 'attache-w2']) for (const b of ['ref', 'attache-grpcjs', 'baseline', 'direct']) if (SUBJECTS.includes(a) && SUBJECTS.includes(b)) pairs.push([a, b]);
  if (pairs.length > 0) {
    lines.push('', 'Ratios, each taken within a round and then the median over rounds (lowest–highest round in brackets); req/s: above 1 is better for the first; p50, p99, CPU/req: below 1 is better:', '');
    lines.push('| method | conc | pair | req/s | p50 | p99 | CPU/req |', '|---|---:|---|---:|---:|---:|---:|');
    for (const method of METHODS.map((m) => m.toUpperCase())) {
      for (const conc of LEVELS) {
        for (const [a, b] of pairs) {
          const q = (k) => pairRatio(a, b, method, conc, k);
          if (rows.some((r) => r.subject === a) && rows.some((r) => r.subject === b)) lines.push(`| ${method} | ${conc} | ${a}/${b} | ${q('rps')} | ${q('p50_ms')} | ${q('p99_ms')} | ${q('cpu_us_per_req')} |`);
        }
      }
    }
  }
  const report = `${lines.join('\n')}\n`;
  process.stdout.write(report);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, report);
  fs.writeFileSync(OUT.replace(/\.md$/, '.json'), JSON.stringify({ medians: rows, rounds: all }, null, 1));
  log(`written to ${OUT}`);
}

/**
 * The streaming scenario (bench/stream.mjs) after the unary levels, in its own process with its own backend
 * and attache: --stream-count N (1,000,000) and --stream-rounds R (3); --no-stream skips it.
 */
async function streamScenario() {
  if (process.argv.includes('--no-stream')) return;
  const argv = [path.join(BENCH_DIR, 'stream.mjs'), '--count', arg('stream-count', '1000000'), '--rounds', arg('stream-rounds', quick ? '1' : '3'), '--out', OUT.replace(/\.md$/, '-stream.md')];
  const r = await runBounded(process.execPath, argv, { timeoutMs: 30 * 60 * 1000, stderr: 'inherit' });
  process.stdout.write(r.out);
  if (r.code !== 0) throw new Error(`bench/stream.mjs failed (${r.code})`);
}

/**
 * The real-world scenario (bench/realworld.mjs) after the streaming one, in its own process with its own backend and attache:
 * --realworld-sizes (1,5,25), 3 launches per size (1 with --quick), alternating with the `ref` build when
 * that is a subject; --no-realworld skips it.
 */
async function realworldScenario() {
  if (process.argv.includes('--no-realworld')) return;
  const argv = [
    path.join(BENCH_DIR, 'realworld.mjs'), '--sizes', arg('realworld-sizes', '1,5,25'), '--runs', quick ? '1' : '3',
    '--duration', quick ? '1' : '5', '--warmup', quick ? '1' : '2', '--out', OUT.replace(/\.md$/, '-realworld.md'),
    ...(REF_DIST && SUBJECTS.includes('ref') ? ['--ref-dist', REF_DIST] : []),
  ];
  const r = await runBounded(process.execPath, argv, { timeoutMs: 30 * 60 * 1000, stderr: 'inherit' });
  process.stdout.write(r.out);
  if (r.code !== 0) throw new Error(`bench/realworld.mjs failed (${r.code})`);
}

/**
 * The large-message scenario (bench/large-messages.mjs, ~30 s) last: 16 B, 100 KiB and 3 MiB answers and
 * 34 × 3 MiB in flight on attache's own transport; --large-args "…" gives it other flags, --no-large skips it.
 */
async function largeScenario() {
  if (process.argv.includes('--no-large')) return;
  const flags = arg('large-args', '--quick --transports own --sizes tiny,medium,large').split(' ').filter(Boolean);
  const r = await runBounded(process.execPath, [path.join(BENCH_DIR, 'large-messages.mjs'), ...flags, '--out', OUT.replace(/\.md$/, '-large.md')], { timeoutMs: 10 * 60 * 1000, stderr: 'inherit' });
  process.stdout.write(r.out);
  if (r.code !== 0) throw new Error(`bench/large-messages.mjs failed (${r.code})`);
}

main()
  .then(stopAll)
  .then(streamScenario)
  .then(realworldScenario)
  .then(largeScenario)
  .then(undefined, async (err) => {
    log(`bench: ${err.stack ?? err}`);
    await stopAll();
    process.exitCode = 1;
  });
