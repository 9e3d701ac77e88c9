// c=1 latency of several attache builds or V8 settings, alternated: each round starts every variant in
// turn (fresh process, `--trace-gc`), warms it up at c=16 for 2 s, then runs wrk GET at c=1 for --secs
// seconds (and at most --max requests) and reads p50/p99 (wrk's histogram) plus every scavenge and
// mark-compact pause the subject's `--trace-gc` printed during that window. The order of the variants
// rotates from round to round, so no variant always runs first. The machine is shared: compare the
// per-round pairs and the spread, not one figure.
//
// Variants: --variants "label=DIR[@node flags],label2=DIR2[@flags]" (DIR: a checkout with a built dist/,
// `.` for this one). Backend: bench/backend.mjs, one for the whole run.
// Usage: node bench/c1-ab.mjs --variants "old=/tmp/old,new=." [--rounds 3] [--secs 5] [--max 40000]
import path from 'node:path';
import { benchJson, startAttache, startBackend, stop, stopAll, wrk as runWrk } from './lib/processes.mjs';
import { arg, GET_PATH, REPO_DIR } from './lib/proto.mjs';

const ROUNDS = Number(arg('rounds', '3'));
const SECS = Number(arg('secs', '5'));
const MAX = Number(arg('max', '40000'));
const VARIANTS = arg('variants', `new=.`)
  .split(',')
  .map((v) => {
    const eq = v.indexOf('=');
    const label = v.slice(0, eq);
    const [dir, flags = ''] = v.slice(eq + 1).split('@');
    return { label, dir: path.resolve(REPO_DIR, dir), flags: flags.split(' ').filter(Boolean) };
  });
if (!(ROUNDS >= 1 && ROUNDS <= 20) || !(SECS > 0 && SECS <= 10)) throw new Error('--rounds 1..20, --secs (0, 10]');

process.on('SIGINT', () => process.exit(130)); // runs processes.mjs's exit hook, which kills the children

/** wrk against `url`; bounded by -d, by the lua request cap and by a hard kill 15 s later. */
const wrk = async (url, c, secs) => benchJson(await runWrk(url, { conc: c, secs, env: { BENCH_MAX_REQUESTS: String(MAX) }, stderr: 'inherit' }));

const backend = await startBackend();
const rows = [];
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < VARIANTS.length; k++) {
    const v = VARIANTS[(k + round) % VARIANTS.length];
    const a = await startAttache({ name: v.label, dist: path.join(v.dir, 'dist'), cwd: v.dir, upstream: backend.target, nodeArgs: ['--trace-gc', ...v.flags] });
    const url = `${a.url}${GET_PATH}`;
    await wrk(url, 16, 2);
    // What --trace-gc prints while the measured wrk runs.
    let gcText = '';
    const collect = (d) => (gcText += d);
    a.child.stdout.on('data', collect);
    a.child.stderr.on('data', collect);
    const r = await wrk(url, 1, SECS);
    a.child.stdout.off('data', collect);
    a.child.stderr.off('data', collect);
    await stop(a.child);
    // Node 24's V8 prints the page pool between the sizes and the pause (`…MB, pooled: 4 MB, 4.12 / 0.04 ms`).
    const pauses = (kind) => [...gcText.matchAll(new RegExp(`${kind}[^,]*,(?: pooled: [0-9.]+ MB,)? ([0-9.]+) / ([0-9.]+) ms`, 'g'))].map((m) => Number(m[1]));
    const sc = pauses('Scavenge');
    const mc = pauses('Mark-Compact');
    sc.sort((x, y) => x - y);
    rows.push({ round: round + 1, label: v.label, ...r, scavenges: sc.length, scP50: sc[Math.floor(sc.length / 2)] ?? 0, scMax: sc.at(-1) ?? 0, mc: mc.length, mcMax: Math.max(0, ...mc) });
    const x = rows.at(-1);
    process.stderr.write(`round ${x.round} ${x.label}: ${x.requests} req, p50 ${x.p50_ms?.toFixed(3)} ms, p99 ${x.p99_ms?.toFixed(3)} ms; ${x.scavenges} scavenges (p50 ${x.scP50} ms, max ${x.scMax} ms), ${x.mc} mark-compacts (max ${x.mcMax} ms)\n`);
  }
}
await stopAll();

const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x, d = 2) => x.toFixed(d);
process.stdout.write('| variant | req/s | p50 ms | p99 ms (per round) | scavenges per 1k req | scavenge pause p50 / max ms | mark-compacts (max ms) |\n|---|---:|---:|---|---:|---|---|\n');
for (const v of VARIANTS) {
  const rs = rows.filter((r) => r.label === v.label && r.requests > 0);
  if (rs.length === 0) continue;
  process.stdout.write(
    `| ${v.label}${v.flags.length ? ` (${v.flags.join(' ')})` : ''} | ${f(med(rs.map((r) => r.rps)), 0)} | ${f(med(rs.map((r) => r.p50_ms)), 3)} | ${f(med(rs.map((r) => r.p99_ms)))} (${rs.map((r) => f(r.p99_ms)).join(', ')}) | ` +
      `${f(med(rs.map((r) => (1000 * r.scavenges) / r.requests)))} | ${f(med(rs.map((r) => r.scP50)))} / ${f(Math.max(...rs.map((r) => r.scMax)))} | ${rs.map((r) => r.mc).join(', ')} (${f(Math.max(...rs.map((r) => r.mcMax)), 1)}) |\n`,
  );
}
process.exit(0);
